/**
 * Commander's argument parser for a repeatable flag (`--origin a --origin b`): collects every
 * value in order. Without a default the first value arrives with no list yet, so a required
 * repeatable flag still reads as missing when it is not given.
 */
export const collect = (value: string, previous: string[] = []): string[] => [...previous, value];
