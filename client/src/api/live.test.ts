// The live connection's behaviour on the closes and errors a fan's network and our API can
// produce, against a scripted fake server speaking graphql-transport-ws.
import { afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { live, type LiveStatus } from './live';

type Script = (ws: FakeSocket, msg: { type: string; id?: string; payload?: unknown }) => void;

const connections: FakeSocket[] = [];
let scripts: Script[] = [];

class FakeSocket {
  static CONNECTING = 0;
  static OPEN = 1;
  static CLOSING = 2;
  static CLOSED = 3;
  readyState = 0;
  protocol = 'graphql-transport-ws';
  onopen: (() => void) | null = null;
  onclose: ((e: { code: number; reason: string; wasClean: boolean }) => void) | null = null;
  onerror: ((e: unknown) => void) | null = null;
  onmessage: ((e: { data: string }) => void) | null = null;
  readonly script: Script;
  readonly url: string;
  constructor(url: string) {
    this.url = url;
    this.script = scripts[connections.length] ?? scripts[scripts.length - 1];
    connections.push(this);
    setTimeout(() => {
      this.readyState = 1;
      this.onopen?.();
    }, 1);
  }
  send(data: string) {
    const msg = JSON.parse(data);
    if (msg.type === 'ping') return this.reply({ type: 'pong' });
    this.script(this, msg);
  }
  reply(msg: unknown) {
    setTimeout(() => this.onmessage?.({ data: JSON.stringify(msg) }), 1);
  }
  serverClose(code: number, reason = '') {
    this.readyState = 3;
    setTimeout(() => this.onclose?.({ code, reason, wasClean: true }), 1);
  }
  close(code = 1000, reason = '') {
    if (this.readyState === 3) return;
    this.readyState = 3;
    setTimeout(() => this.onclose?.({ code, reason, wasClean: true }), 1);
  }
}

const ackAndServe: Script = (ws, msg) => {
  if (msg.type === 'connection_init') ws.reply({ type: 'connection_ack' });
  if (msg.type === 'subscribe') ws.reply({ type: 'next', id: msg.id, payload: { data: { n: connections.length } } });
};

beforeAll(() => {
  vi.stubGlobal('window', { location: { protocol: 'http:', host: 'tickets.test' } });
});

afterEach(() => {
  connections.length = 0;
  scripts = [];
});

function start(extra: Partial<Parameters<typeof live>[0]> = {}) {
  const statuses: LiveStatus[] = [];
  const data: unknown[] = [];
  const stop = live({
    path: '/sale/1/graphql',
    query: () => ({ access_token: 'adm' }),
    connectionParams: () => ({ authorization: 'Bearer adm' }),
    doc: { toString: () => 'subscription { n }' },
    variables: {},
    onData: (d) => data.push(d),
    onError: () => true,
    onStatus: (s) => statuses.push(s),
    webSocketImpl: FakeSocket,
    ...extra,
  });
  return { statuses, data, stop };
}

const until = async (cond: () => boolean, ms = 4000) => {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error('timed out');
    await new Promise((r) => setTimeout(r, 10));
  }
};

describe('live subscriptions', () => {
  it('puts the admission token on the socket URL and in connection_init', async () => {
    let init: unknown = null;
    scripts = [(ws, msg) => {
      if (msg.type === 'connection_init') init = msg.payload;
      ackAndServe(ws, msg);
    }];
    const { data, stop } = start();
    await until(() => data.length > 0);
    expect(connections[0].url).toBe('ws://tickets.test/sale/1/graphql?access_token=adm');
    expect(init).toEqual({ authorization: 'Bearer adm' });
    stop();
  });

  it('does not give up on a 1002 close (fatal to graphql-ws): renews credentials and subscribes again', async () => {
    const onAuthProblem = vi.fn(async () => undefined);
    scripts = [(ws, msg) => msg.type === 'connection_init' && ws.serverClose(1002, 'connection_init refused'), ackAndServe];
    const { statuses, data, stop } = start({ onAuthProblem });
    await until(() => data.length > 0);
    expect(onAuthProblem).toHaveBeenCalledTimes(1);
    expect(statuses).toContain('degraded');
    expect(statuses[statuses.length - 1]).toBe('live');
    expect(connections).toHaveLength(2);
    stop();
  });

  it('reconnects after a dropped connection and says so', async () => {
    const onReconnected = vi.fn();
    scripts = [ackAndServe];
    const { statuses, data, stop } = start({ onReconnected });
    await until(() => data.length === 1);
    connections[0].serverClose(1006, 'network');
    await until(() => data.length === 2);
    expect(statuses).toContain('reconnecting');
    expect(onReconnected).toHaveBeenCalledTimes(1);
    stop();
  });

  it('hands coded errors to the caller, who decides to resubscribe or stop', async () => {
    const codes: string[] = [];
    let first = true;
    scripts = [(ws, msg) => {
      if (msg.type === 'connection_init') ws.reply({ type: 'connection_ack' });
      if (msg.type === 'subscribe') {
        if (first) {
          first = false;
          ws.reply({ type: 'error', id: msg.id, payload: [{ message: 'expired', extensions: { code: 'TOKEN_EXPIRED' } }] });
        } else ws.reply({ type: 'next', id: msg.id, payload: { data: { ok: true } } });
      }
    }];
    const { data, stop } = start({ onError: (code) => (codes.push(code), true) });
    await until(() => data.length > 0);
    expect(codes).toEqual(['TOKEN_EXPIRED']);
    stop();

    scripts = [(ws, msg) => {
      if (msg.type === 'connection_init') ws.reply({ type: 'connection_ack' });
      if (msg.type === 'subscribe') ws.reply({ type: 'error', id: msg.id, payload: [{ message: 'no', extensions: { code: 'GRAPHQL_VALIDATION_FAILED' } }] });
    }];
    const stopped = start({ onError: () => false });
    await until(() => stopped.statuses.includes('stopped'));
    await new Promise((r) => setTimeout(r, 50));
    expect(stopped.statuses[stopped.statuses.length - 1]).toBe('stopped');
    stopped.stop();
  });
});
