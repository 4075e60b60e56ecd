import { useState, type FormEvent } from 'react';
import { LoginDocument, RegisterDocument } from '../gql/public/graphql';
import { gql, asApiError, type ApiError } from '../api/http';
import { setSession } from '../api/session';
import { Link, navigate, useLocation, useTitle } from '../router';
import { Button, ErrorNotice, Field } from '../components/ui';
import type { FriendlyError } from '../lib/errors';

function nextPath(search: URLSearchParams): string {
  const next = search.get('next');
  return next && next.startsWith('/') && !next.startsWith('//') ? next : '/';
}

const EMAIL_RE = /^[^\s@]+@[^\s@]+\.[^\s@]+$/;

export function SignIn() {
  useTitle('Sign in');
  const { search } = useLocation();
  const [email, setEmail] = useState('');
  const [password, setPassword] = useState('');
  const [errors, setErrors] = useState<{ email?: string; password?: string }>({});
  const [apiError, setApiError] = useState<ApiError | null>(null);
  const [busy, setBusy] = useState(false);
  const next = nextPath(search);

  const submit = async (e: FormEvent) => {
    e.preventDefault();
    const errs: typeof errors = {};
    if (!EMAIL_RE.test(email.trim())) errs.email = 'Enter your email address, like name@example.com.';
    if (!password) errs.password = 'Enter your password.';
    setErrors(errs);
    if (Object.keys(errs).length) return;
    setBusy(true);
    setApiError(null);
    try {
      const data = await gql('/graphql', LoginDocument, { email: email.trim(), password });
      setSession(data.login);
      navigate(next, { replace: true });
    } catch (err) {
      setApiError(asApiError(err));
    } finally {
      setBusy(false);
    }
  };

  return (
    <main className="page narrow">
      <h1 className="page-title">Sign in</h1>
      <p className="muted">Sign in to join the queue and buy tickets.</p>
      <form className="card form" onSubmit={submit} noValidate>
        {apiError ? <ErrorNotice error={apiError} onAction={(f: FriendlyError) => f.step === 'sign-up-instead' && navigate(`/signup?next=${encodeURIComponent(next)}`)} /> : null}
        <Field id="email" label="Email" error={errors.email}>
          <input id="email" type="email" autoComplete="email" inputMode="email" value={email} onChange={(e) => setEmail(e.target.value)} aria-invalid={!!errors.email} aria-describedby={errors.email ? 'email-error' : undefined} required />
        </Field>
        <Field id="password" label="Password" error={errors.password}>
          <input id="password" type="password" autoComplete="current-password" value={password} onChange={(e) => setPassword(e.target.value)} aria-invalid={!!errors.password} aria-describedby={errors.password ? 'password-error' : undefined} required />
        </Field>
        <Button type="submit" busy={busy} className="btn-block">
          Sign in
        </Button>
        <p className="form-foot">
          New here? <Link to={`/signup?next=${encodeURIComponent(next)}`}>Create an account</Link>
        </p>
      </form>
    </main>
  );
}

export function SignUp() {
  useTitle('Create an account');
  const { search } = useLocation();
  const [displayName, setDisplayName] = useState('');
  const [email, setEmail] = useState('');
  const [password, setPassword] = useState('');
  const [errors, setErrors] = useState<{ displayName?: string; email?: string; password?: string }>({});
  const [apiError, setApiError] = useState<ApiError | null>(null);
  const [busy, setBusy] = useState(false);
  const next = nextPath(search);

  const submit = async (e: FormEvent) => {
    e.preventDefault();
    const errs: typeof errors = {};
    const name = displayName.trim();
    if (!name) errs.displayName = 'Tell us what to call you.';
    else if (name.length > 100) errs.displayName = 'Keep it under 100 characters.';
    if (!EMAIL_RE.test(email.trim())) errs.email = 'Enter your email address, like name@example.com.';
    if (password.length < 8) errs.password = 'Use at least 8 characters.';
    else if (password.length > 128) errs.password = 'Use at most 128 characters.';
    setErrors(errs);
    if (Object.keys(errs).length) return;
    setBusy(true);
    setApiError(null);
    try {
      const data = await gql('/graphql', RegisterDocument, { input: { displayName: name, email: email.trim(), password } });
      setSession(data.register);
      navigate(next, { replace: true });
    } catch (err) {
      setApiError(asApiError(err));
    } finally {
      setBusy(false);
    }
  };

  return (
    <main className="page narrow">
      <h1 className="page-title">Create your account</h1>
      <p className="muted">One account, one place in each queue: fair for every fan.</p>
      <form className="card form" onSubmit={submit} noValidate>
        {apiError ? <ErrorNotice error={apiError} onAction={(f: FriendlyError) => f.step === 'sign-in-instead' && navigate(`/signin?next=${encodeURIComponent(next)}`)} /> : null}
        <Field id="displayName" label="Your name" error={errors.displayName}>
          <input id="displayName" autoComplete="name" value={displayName} onChange={(e) => setDisplayName(e.target.value)} aria-invalid={!!errors.displayName} aria-describedby={errors.displayName ? 'displayName-error' : undefined} required />
        </Field>
        <Field id="email" label="Email" error={errors.email}>
          <input id="email" type="email" autoComplete="email" inputMode="email" value={email} onChange={(e) => setEmail(e.target.value)} aria-invalid={!!errors.email} aria-describedby={errors.email ? 'email-error' : undefined} required />
        </Field>
        <Field id="password" label="Password" error={errors.password} hint="At least 8 characters.">
          <input id="password" type="password" autoComplete="new-password" value={password} onChange={(e) => setPassword(e.target.value)} aria-invalid={!!errors.password} aria-describedby={errors.password ? 'password-error' : 'password-hint'} required />
        </Field>
        <Button type="submit" busy={busy} className="btn-block">
          Create account
        </Button>
        <p className="form-foot">
          Already have an account? <Link to={`/signin?next=${encodeURIComponent(next)}`}>Sign in</Link>
        </p>
      </form>
    </main>
  );
}
