import { describe, expect, it } from 'vitest';
import { REDACTED, redact } from '../../src/domain/audit/audit-redaction.js';

describe('audit redaction', () => {
  it('redacts secret-named keys at any depth, whatever the value', () => {
    expect(
      redact({
        username: 'alice',
        password: 'hunter2-hunter2',
        input: {
          newPassword: 'x',
          apiToken: 'phm_abc',
          clientSecret: { nested: 1 },
          authorization: 'Bearer x',
          list: [{ token: 't' }],
        },
      }),
    ).toEqual({
      username: 'alice',
      password: REDACTED,
      input: {
        newPassword: REDACTED,
        apiToken: REDACTED,
        clientSecret: REDACTED,
        authorization: REDACTED,
        list: [{ token: REDACTED }],
      },
    });
  });

  it('strips credentials and query strings from URLs, and webhook paths', () => {
    expect(
      redact({
        repository: 'https://deploy:s3cret@git.example.com/team/app.git?access_token=abc',
        docs: 'https://docs.example.com/guide',
        webhookUrl: 'https://hooks.slack.com/services/T000/B000/XXXXSECRET?x=1',
        callback: 'https://bots.example.com/hook/abcdef',
        channel: { url: 'https://chat.example.com/api/v1/send?sig=deadbeef&ts=1' },
      }),
    ).toEqual({
      repository: `https://git.example.com/team/app.git?${REDACTED}`,
      docs: 'https://docs.example.com/guide',
      webhookUrl: `https://hooks.slack.com/${REDACTED}?${REDACTED}`,
      callback: `https://bots.example.com/${REDACTED}`,
      channel: { url: `https://chat.example.com/api/v1/send?${REDACTED}` },
    });
  });

  it('removes bearer credentials inside free text and keeps other values JSON-safe', () => {
    expect(
      redact({
        note: 'call with Bearer abcdefghijklmnop please',
        at: new Date('2026-01-02T03:04:05Z'),
        n: 3,
        ok: true,
        none: null,
        big: 10n,
      }),
    ).toEqual({
      note: `call with Bearer ${REDACTED} please`,
      at: '2026-01-02T03:04:05.000Z',
      n: 3,
      ok: true,
      none: null,
      big: '10',
    });
    const long = redact({ text: 'x'.repeat(5000) }) as { text: string };
    expect(long.text.length).toBeLessThan(2100);
  });
});
