/** Describes any thrown or returned value as text without ever throwing (null prototypes, hostile toString). */
export function describeValue(value: unknown): string {
  try {
    if (value instanceof Error) return value.message;
    if (typeof value === 'string') return value;
    return String(value);
  } catch {
    return 'an unprintable value';
  }
}
