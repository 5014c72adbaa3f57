/**
 * Which addresses a notification webhook may reach. Route URLs are chosen by app OWNERs, not
 * only admins, so without this check a route could make Phantom POST to its own network
 * (127.0.0.1, 10.0.0.0/8, the cloud metadata service at 169.254.169.254) and read a bit of
 * the answer back through `lastError`: server-side request forgery. The check runs at send
 * time, on the address the connection actually uses (see `notification-sender.ts`), so a DNS
 * name that first resolves to a public address and then to a private one (rebinding) gains
 * nothing.
 */
import { BlockList, isIP } from 'node:net';

/** What may be reached beyond public addresses. Default: nothing (public addresses only). */
export interface WebhookPolicy {
  /** Any address, private ones included (`PHANTOM_WEBHOOK_ALLOW_PRIVATE=on`). Default: false. */
  allowPrivate?: boolean;
  /** `host` or `host:port` (lower case) allowed whatever they resolve to (`PHANTOM_WEBHOOK_ALLOWED_HOSTS`). Default: none. */
  allowedHosts?: readonly string[];
}

const blocked = new BlockList();
for (const [net, prefix] of [
  ['0.0.0.0', 8], // "this network", includes the unspecified 0.0.0.0
  ['10.0.0.0', 8],
  ['100.64.0.0', 10], // carrier-grade NAT
  ['127.0.0.0', 8],
  ['169.254.0.0', 16], // link-local, cloud metadata services
  ['172.16.0.0', 12],
  ['192.0.0.0', 24],
  ['192.168.0.0', 16],
  ['198.18.0.0', 15],
  ['224.0.0.0', 4], // multicast
  ['240.0.0.0', 4], // reserved, broadcast
] as const)
  blocked.addSubnet(net, prefix, 'ipv4');
for (const [net, prefix] of [
  ['::', 96], // unspecified ::, loopback ::1, IPv4-compatible
  ['fc00::', 7], // unique local
  ['fe80::', 10], // link-local
  ['fec0::', 10], // site-local (deprecated)
  ['ff00::', 8], // multicast
  ['::ffff:0:0:0', 96], // IPv4-translated (SIIT, ::ffff:0:a.b.c.d)
  ['64:ff9b::', 96], // NAT64: reaches IPv4 through a gateway
  ['64:ff9b:1::', 48], // local-use NAT64 (RFC 8215)
  ['2001::', 32], // Teredo: embeds an IPv4 server and client address
  ['2002::', 16], // 6to4: embeds an IPv4 address
] as const)
  blocked.addSubnet(net, prefix, 'ipv6');

/** The IPv4 address inside an IPv4-mapped IPv6 address (`::ffff:a.b.c.d` in any spelling), else undefined. */
function mappedIpv4(addr: string): string | undefined {
  // The URL parser writes IPv6 in canonical compressed form: ::ffff:7f00:1.
  let host: string;
  try {
    host = new URL(`http://[${addr}]/`).hostname.slice(1, -1).toLowerCase();
  } catch {
    return undefined;
  }
  const m = /^::ffff:([0-9a-f]{1,4}):([0-9a-f]{1,4})$/.exec(host);
  if (!m) return undefined;
  const hi = parseInt(m[1], 16);
  const lo = parseInt(m[2], 16);
  return `${hi >> 8}.${hi & 255}.${lo >> 8}.${lo & 255}`;
}

/** Is `addr` (an IP literal) loopback, private, link-local, unspecified or otherwise not public? Non-IPs count as not public. */
export function isNonPublicAddress(addr: string): boolean {
  const bare = addr.replace(/^\[|\]$/g, '').replace(/%.*$/, '');
  const family = isIP(bare);
  if (family === 4) return blocked.check(bare, 'ipv4');
  if (family !== 6) return true;
  const v4 = mappedIpv4(bare);
  if (v4) return blocked.check(v4, 'ipv4');
  return blocked.check(bare, 'ipv6');
}

/** May `url`'s host reach any address under `policy` (allowance on, or host[:port] listed)? */
export function mayReachAnyAddress(url: URL, policy: WebhookPolicy): boolean {
  if (policy.allowPrivate) return true;
  const list = policy.allowedHosts ?? [];
  if (!list.length) return false;
  const host = url.hostname.toLowerCase();
  const port = url.port || (url.protocol === 'https:' ? '443' : '80');
  return list.includes(host) || list.includes(`${host}:${port}`);
}

/** The error text for a refused address: no host name, no address (it would map the internal network). */
export const PRIVATE_ADDRESS_REFUSED =
  'refused: the webhook host is a loopback, private or link-local address (allow with PHANTOM_WEBHOOK_ALLOW_PRIVATE or PHANTOM_WEBHOOK_ALLOWED_HOSTS)';
