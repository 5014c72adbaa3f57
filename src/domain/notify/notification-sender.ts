/**
 * Sends one channel request and decides whether the receiver accepted it. Chat robots answer
 * HTTP 200 even when they refuse (bad signature, rate limit), with an error code in the
 * JSON body, so the body is checked too.
 */
import { NotificationChannel } from './notification-channel.js';
import type { ChannelRequest } from './channel-request.js';

export class SendError extends Error {
  override name = 'SendError';
}

/** Receiver text put into `lastError` is cut to this many characters. */
const ERROR_TEXT_MAX = 300;

function clip(s: string): string {
  const flat = s.replace(/\s+/g, ' ').trim();
  return flat.length > ERROR_TEXT_MAX ? `${flat.slice(0, ERROR_TEXT_MAX)}…` : flat;
}

/** The receiver's refusal in a 2xx JSON answer, or undefined when it accepted. */
function refusal(channel: NotificationChannel, text: string): string | undefined {
  if (channel !== NotificationChannel.DINGTALK && channel !== NotificationChannel.WECOM && channel !== NotificationChannel.FEISHU) return undefined;
  let body: Record<string, unknown>;
  try {
    body = JSON.parse(text) as Record<string, unknown>;
  } catch {
    return `unexpected answer: ${clip(text)}`;
  }
  // DingTalk and WeCom: {"errcode":0,"errmsg":"ok"}; Feishu: {"code":0,"msg":"success"} (older: StatusCode).
  const code = body.errcode ?? body.code ?? body.StatusCode;
  if (code === 0 || code === undefined) return undefined;
  return `error ${String(code)}: ${clip(String(body.errmsg ?? body.msg ?? body.StatusMessage ?? ''))}`;
}

/**
 * POSTs `req`; resolves when the receiver accepted it, throws {@link SendError} otherwise.
 * Error messages never contain the URL: it may carry a credential (`access_token`, `key`).
 */
export async function sendChannelRequest(channel: NotificationChannel, req: ChannelRequest, timeoutMs: number): Promise<void> {
  let res: Response;
  try {
    res = await fetch(req.url, { method: 'POST', headers: req.headers, body: req.body, signal: AbortSignal.timeout(timeoutMs), redirect: 'error' });
  } catch (err) {
    const e = err as Error & { cause?: { code?: string; message?: string } };
    if (e.name === 'TimeoutError') throw new SendError(`no answer within ${timeoutMs} ms`);
    const cause = e.cause?.code ?? e.cause?.message;
    throw new SendError(`request failed: ${e.message}${cause ? ` (${cause})` : ''}`);
  }
  const text = await res.text().catch(() => '');
  if (!res.ok) throw new SendError(`HTTP ${res.status}${text ? `: ${clip(text)}` : ''}`);
  const refused = refusal(channel, text);
  if (refused) throw new SendError(refused);
}
