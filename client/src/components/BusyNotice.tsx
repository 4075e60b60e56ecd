// The one place the fan reads that a request is waiting out a BUSY answer: "Busy, retrying
// in N s", counting down, gone once the retry is sent.
import { useEffect, useState } from 'react';
import { busyMessage, onBusyNotice } from '../api/busy';

export function BusyNotice() {
  const [until, setUntil] = useState<number | null>(null);
  const [now, setNow] = useState(() => Date.now());
  useEffect(() => onBusyNotice(setUntil), []);
  useEffect(() => {
    if (until === null) return;
    const tick = setInterval(() => setNow(Date.now()), 250);
    return () => clearInterval(tick);
  }, [until]);
  if (until === null) return null;
  return (
    <div className="busy-bar" role="status" aria-live="polite">
      {busyMessage(until - now)}
    </div>
  );
}
