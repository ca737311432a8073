/**
 * Lower-cases A-Z only. `String.prototype.toLowerCase` also folds non-ASCII letters, e.g. the
 * Kelvin sign U+212A to `k`, so two addresses that mail systems treat as different would
 * compare equal: addresses are compared with this instead.
 */
export function asciiLowerCase(text: string): string {
  return text.replace(/[A-Z]+/g, (upper) => upper.toLowerCase());
}
