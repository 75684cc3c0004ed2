// Link addresses as the Event Hubs SDKs write them:
//   $cbs, $management                                  service endpoints
//   <hub>, <hub>/Partitions/<id>                       publishing
//   <hub>/ConsumerGroups/<group>/Partitions/<id>       receiving
// Some clients prefix the namespace URI (amqps://host/...); names are case-insensitive.

export type LinkAddress =
  | { kind: 'cbs' }
  | { kind: 'management' }
  | { kind: 'publish'; hub: string; partitionId?: string }
  | { kind: 'consume'; hub: string; consumerGroup: string; partitionId: string }
  | { kind: 'unknown'; address: string };

export function parseLinkAddress(address: string | undefined): LinkAddress {
  const path = entityPath(address ?? '');
  const parts = path.split('/');
  const lower = parts.map((part) => part.toLowerCase());
  if (parts.length === 1 && lower[0] === '$cbs') return { kind: 'cbs' };
  if (lower[lower.length - 1] === '$management') return { kind: 'management' };
  if (parts.length === 1 && parts[0] !== '') return { kind: 'publish', hub: parts[0] };
  if (parts.length === 3 && lower[1] === 'partitions') {
    return { kind: 'publish', hub: parts[0], partitionId: parts[2] };
  }
  if (parts.length === 5 && lower[1] === 'consumergroups' && lower[3] === 'partitions') {
    return { kind: 'consume', hub: parts[0], consumerGroup: parts[2], partitionId: parts[4] };
  }
  return { kind: 'unknown', address: path };
}

/**
 * The entity path of an address or URI, without scheme, host and slashes at the ends:
 * `sb://host:5672/events/Partitions/0` -> `events/Partitions/0`. Hosts are ignored because the same
 * emulator is reached as localhost, 127.0.0.1 or a container name.
 */
export function entityPath(address: string): string {
  let rest = address.trim();
  const scheme = rest.indexOf('://');
  if (scheme >= 0) {
    rest = rest.slice(scheme + 3);
    const slash = rest.indexOf('/');
    rest = slash >= 0 ? rest.slice(slash + 1) : '';
  }
  return rest.replace(/^\/+|\/+$/g, '');
}
