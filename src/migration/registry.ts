/**
 * The migrations this process is running, by source connection and domain UUID: a second migrate() of the
 * same guest is refused before it can touch the first.
 */
const active = new Set<string>();

export function registryKey(sourceUri: string, domainUuid: string): string {
  return `${sourceUri}\u0000${domainUuid}`;
}

/** Claims the slot; false when another job of this process holds it. */
export function claim(key: string): boolean {
  if (active.has(key)) return false;
  active.add(key);
  return true;
}

export function release(key: string): void {
  active.delete(key);
}
