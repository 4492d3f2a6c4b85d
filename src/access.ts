import { BlockList, isIP } from 'node:net';

/** Who may talk to a server: addresses or CIDR ranges ("127.0.0.1", "10.0.0.0/8", "::1", "fd00::/8"). */
export interface AccessOptions {
  /** If given, only these may connect or send. @default everyone */
  allow?: readonly string[];
  /** Never these, even when allowed. @default nobody */
  deny?: readonly string[];
}

/** Decides for one peer address; true lets it in. */
export type AccessCheck = (address: string) => boolean;

/**
 * Builds the check once from the lists (Node's `net.BlockList` does the matching). IPv4 peers seen through a
 * dual-stack socket (`::ffff:10.1.2.3`) are checked as the IPv4 address they are.
 *
 * @throws {RangeError} for an entry that is not an address or CIDR range
 * @example createAccessCheck({ allow: ['127.0.0.0/8'], deny: ['127.0.0.9'] })('127.0.0.1') // true
 */
export function createAccessCheck(options: AccessOptions): AccessCheck | undefined {
  const allow = options.allow && options.allow.length > 0 ? toBlockList('allow', options.allow) : undefined;
  const deny = options.deny && options.deny.length > 0 ? toBlockList('deny', options.deny) : undefined;
  if (!allow && !deny) return undefined;
  return (address) => {
    const bare = address.startsWith('::ffff:') && isIP(address.slice(7)) === 4 ? address.slice(7) : address;
    const family = isIP(bare) === 6 ? 'ipv6' : 'ipv4';
    if (deny?.check(bare, family)) return false;
    return allow ? allow.check(bare, family) : true;
  };
}

function toBlockList(name: string, entries: readonly string[]): BlockList {
  const list = new BlockList();
  for (const entry of entries) {
    const [address = '', prefixText, extra] = entry.trim().split('/');
    const family = isIP(address);
    const prefix = prefixText === undefined ? undefined : Number(prefixText);
    const maxPrefix = family === 6 ? 128 : 32;
    if (family === 0 || extra !== undefined || (prefix !== undefined && (!Number.isInteger(prefix) || prefix < 0 || prefix > maxPrefix))) {
      throw new RangeError(`${name}: "${entry}" is not an IP address or CIDR range (like 10.0.0.0/8 or fd00::/8)`);
    }
    const type = family === 6 ? 'ipv6' : 'ipv4';
    if (prefix === undefined) list.addAddress(address, type);
    else list.addSubnet(address, prefix, type);
  }
  return list;
}
