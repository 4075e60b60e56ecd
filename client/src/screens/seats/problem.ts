// What went wrong last on the seat page (a seat taken, the cap reached, a refused hold...),
// shown in the panel until the next action clears it.
import { useEffect, useState } from 'react';
import type { FriendlyError } from '../../lib/errors';

export interface Problem {
  f: FriendlyError;
  tone: 'error' | 'warning' | 'info';
}

export function useProblem() {
  const [problem, setProblem] = useState<Problem | null>(null);
  // On phones the panel is below the map: repeat a new problem above the bottom bar for a while.
  const [toastVisible, setToastVisible] = useState(false);
  useEffect(() => {
    if (!problem) return;
    setToastVisible(true);
    const t = setTimeout(() => setToastVisible(false), 8000);
    return () => clearTimeout(t);
  }, [problem]);
  return { problem, setProblem, toastVisible, hideToast: () => setToastVisible(false) };
}
