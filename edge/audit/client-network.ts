/**
 * @module networkOf: the network a client address belongs to (IPv4 /24, IPv6 /64), the unit by
 * which audit folding counts anonymous clients.
 */

/**
 * The network an address belongs to, for folding anonymous denials: IPv4 /24
 * (`198.51.100.0/24`) and IPv6 /64 (`2001:db8:a77a:c4::/64`; an IPv4-mapped address as IPv4), so
 * one network takes one entry however many addresses it has. Anything else stands for itself.
 */
export function networkOf(ip: string | null): string | null {
  if (ip === null || ip === '') return null;
  const v4 = ipv4Octets(ip);
  if (v4) return `${v4[0]}.${v4[1]}.${v4[2]}.0/24`;
  const v6 = ipv6Groups(ip);
  if (!v6) return ip;
  if (v6.slice(0, 5).every((g) => g === 0) && v6[5] === 0xffff) return `${v6[6]! >> 8}.${v6[6]! & 255}.${v6[7]! >> 8}.0/24`;
  return `${v6
    .slice(0, 4)
    .map((g) => g.toString(16))
    .join(':')}::/64`;
}

function ipv4Octets(s: string): number[] | null {
  const m = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/.exec(s);
  const o = m ? m.slice(1).map(Number) : null;
  return o?.every((x) => x <= 255) ? o : null;
}

/** The eight 16-bit groups of an IPv6 address (`::` expanded, an IPv4 tail as two groups), or null. */
function ipv6Groups(s: string): number[] | null {
  if (!s.includes(':')) return null;
  let head = s;
  let tail: number[] = [];
  const dotted = /^(.*:)(\d{1,3}(?:\.\d{1,3}){3})$/.exec(s);
  if (dotted) {
    const o = ipv4Octets(dotted[2]!);
    if (!o) return null;
    tail = [(o[0]! << 8) | o[1]!, (o[2]! << 8) | o[3]!];
    head = dotted[1]!.endsWith('::') ? dotted[1]! : dotted[1]!.slice(0, -1);
  }
  const halves = head.split('::');
  if (halves.length > 2) return null;
  const groups = (x: string) => (x === '' ? [] : x.split(':'));
  const before = groups(halves[0]!);
  const after = halves.length === 2 ? groups(halves[1]!) : [];
  if (![...before, ...after].every((g) => /^[0-9a-fA-F]{1,4}$/.test(g))) return null;
  const want = 8 - tail.length;
  const n = before.length + after.length;
  // Without `::`, every group is written; with it, `::` stands for at least one.
  if (halves.length === 1 ? n !== want : n >= want) return null;
  return [...before, ...Array<string>(halves.length === 2 ? want - n : 0).fill('0'), ...after].map((g) => parseInt(g, 16)).concat(tail);
}
