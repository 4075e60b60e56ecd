import type { ButtonHTMLAttributes, ReactNode } from 'react';
import { friendlyError, type ErrorContext, type FriendlyError } from '../lib/errors';
import type { ApiError } from '../api/http';

export function Spinner({ label = 'Loading' }: { label?: string }) {
  return (
    <span className="spinner" role="status" aria-live="polite">
      <span className="spinner-dot" aria-hidden="true" />
      <span className="sr-only">{label}</span>
    </span>
  );
}

export function PageLoading({ label }: { label: string }) {
  return (
    <div className="page-loading" role="status" aria-live="polite" aria-busy="true">
      <div className="skeleton skeleton-title" />
      <div className="skeleton skeleton-line" />
      <div className="skeleton skeleton-line short" />
      <p className="muted">{label}</p>
    </div>
  );
}

export function Button({ busy, children, variant = 'primary', ...rest }: ButtonHTMLAttributes<HTMLButtonElement> & { busy?: boolean; variant?: 'primary' | 'secondary' | 'ghost' | 'danger' }) {
  return (
    <button {...rest} className={`btn btn-${variant} ${rest.className ?? ''}`} disabled={rest.disabled || busy} aria-busy={busy || undefined}>
      {busy ? <span className="btn-spinner" aria-hidden="true" /> : null}
      <span>{children}</span>
    </button>
  );
}

export function ProgressBar({ value, label, tone = 'brand', valueText }: { value: number; label: string; tone?: 'brand' | 'warning' | 'danger' | 'ok'; valueText?: string }) {
  const pct = Math.round(Math.max(0, Math.min(1, value)) * 1000) / 10;
  return (
    <div className={`progress progress-${tone}`} role="progressbar" aria-label={label} aria-valuemin={0} aria-valuemax={100} aria-valuenow={Math.round(pct)} aria-valuetext={valueText}>
      <div className="progress-fill" style={{ transform: `scaleX(${pct / 100})` }} />
    </div>
  );
}

export function Notice({ tone = 'info', title, children, actions }: { tone?: 'info' | 'warning' | 'error' | 'success'; title?: string; children?: ReactNode; actions?: ReactNode }) {
  return (
    <div className={`notice notice-${tone}`} role={tone === 'error' || tone === 'warning' ? 'alert' : 'status'}>
      {title ? <strong className="notice-title">{title}</strong> : null}
      {children ? <div className="notice-body">{children}</div> : null}
      {actions ? <div className="notice-actions">{actions}</div> : null}
    </div>
  );
}

/** An API error in plain words, with the button that leads on. */
export function ErrorNotice({ error, ctx, onAction, tone = 'error' }: { error: ApiError | FriendlyError; ctx?: ErrorContext; onAction?: (f: FriendlyError) => void; tone?: 'error' | 'warning' }) {
  const f: FriendlyError = 'title' in error ? error : friendlyError(error.code, { retryAfterSeconds: error.retryAfterSeconds, ...ctx });
  return (
    <Notice tone={tone} title={f.title} actions={f.action && onAction ? <Button variant="secondary" onClick={() => onAction(f)}>{f.action}</Button> : null}>
      <p>{f.message}</p>
    </Notice>
  );
}

export function Field({ id, label, error, hint, children }: { id: string; label: string; error?: string; hint?: ReactNode; children: ReactNode }) {
  return (
    <div className={`field ${error ? 'field-invalid' : ''}`}>
      <label htmlFor={id}>{label}</label>
      {children}
      {error ? (
        <p className="field-error" id={`${id}-error`} role="alert">
          {error}
        </p>
      ) : hint ? (
        <p className="field-hint" id={`${id}-hint`}>
          {hint}
        </p>
      ) : null}
    </div>
  );
}

export function LiveDot({ status }: { status: string }) {
  const text =
    status === 'live' ? 'Live' : status === 'degraded' ? 'Checking every few seconds' : status === 'stopped' ? 'Not live' : status === 'connecting' ? 'Connecting…' : 'Reconnecting…';
  return (
    <span className={`live-dot live-${status}`} data-testid="live-status">
      <span className="dot" aria-hidden="true" />
      {text}
    </span>
  );
}
