/** Six colon- or dash-separated hex octets: Go's net.ParseMAC for 48-bit addresses, as Docker checks. */
export function isMacAddress(value: string): boolean {
  return /^[0-9a-fA-F]{2}([:-])[0-9a-fA-F]{2}(\1[0-9a-fA-F]{2}){4}$/.test(value);
}
