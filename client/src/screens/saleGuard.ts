// Every sale screen needs the fan's admission for the event (unless its gate is off). A
// second tab, or a reload, finds it in localStorage or asks the queue (queueStatus gives
// the same admission to every tab of the fan). When a sale answer says it ended, the fan
// goes back to the waiting room with the reason.
import { useEffect, useState } from 'react';
import { QueueStatusDocument } from '../gql/public/graphql';
import { getAdmission, onAdmissionChange, refusedAdmission, setAdmission, type Admission } from '../api/admission';
import { onAdmissionEnded, pub } from '../api/api';
import { asApiError, type ApiError } from '../api/http';
import { navigate, signInHref } from '../router';
import type { EventInfo } from '../events';
import { getSession } from '../api/session';

export function useAdmission(event: EventInfo | null, slug: string): { ready: boolean; admission: Admission | null; error: ApiError | null } {
  const [admission, setAdm] = useState<Admission | null>(() => (event ? getAdmission(event.id) : null));
  const [ready, setReady] = useState(false);
  const [error, setError] = useState<ApiError | null>(null);

  useEffect(() => {
    if (!event) return;
    if (!getSession()) {
      navigate(signInHref(), { replace: true });
      return;
    }
    if (!event.gateEnabled) {
      setReady(true);
      return;
    }
    const existing = getAdmission(event.id);
    if (existing) {
      setAdm(existing);
      setReady(true);
      return;
    }
    let cancelled = false;
    pub(QueueStatusDocument, { eventId: event.id }, { retries: 3 }).then(
      ({ queueStatus }) => {
        if (cancelled) return;
        const refused = refusedAdmission(event.id);
        if (queueStatus.state === 'ADMITTED' && queueStatus.admission && refused?.token !== queueStatus.admission.token) {
          setAdmission(event.id, queueStatus.admission);
          setAdm(queueStatus.admission);
          setReady(true);
        } else {
          navigate(`/e/${slug}/queue`, { replace: true });
        }
      },
      (e) => !cancelled && setError(asApiError(e)),
    );
    return () => {
      cancelled = true;
    };
  }, [event, slug]);

  useEffect(() => {
    if (!event) return;
    const offEnded = onAdmissionEnded((eventId, code) => {
      if (eventId === event.id) navigate(`/e/${slug}/queue?ended=${encodeURIComponent(code)}`, { replace: true });
    });
    const offChange = onAdmissionChange((eventId) => {
      if (eventId === event.id) setAdm(getAdmission(event.id));
    });
    return () => {
      offEnded();
      offChange();
    };
  }, [event, slug]);

  return { ready, admission, error };
}
