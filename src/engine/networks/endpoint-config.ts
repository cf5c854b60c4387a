import { InvalidParameterError } from "../../lib/errors";
import { isMacAddress } from "../../lib/mac";

type EndpointsConfig = Record<string, { MacAddress?: string | null; IPAMConfig?: { IPv4Address?: string | null } | null } | null>;

const IPV4 = /^(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)(\.(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)){3}$/;

/** A create request's per-network settings, checked as Docker does before anything exists. */
export function validateEndpointsConfig(config: { EndpointsConfig?: EndpointsConfig | null } | null | undefined): void {
  for (const ep of Object.values(config?.EndpointsConfig ?? {})) {
    const mac = ep?.MacAddress;
    if (mac && !isMacAddress(mac)) throw new InvalidParameterError(`invalid MAC address ${mac}`);
    const ip = ep?.IPAMConfig?.IPv4Address;
    if (ip && !IPV4.test(ip)) throw new InvalidParameterError(`invalid IPv4 address: ${ip}`);
  }
}
