/** Request counters, byte counters and a latency histogram, rendered in Prometheus text format. */

const BUCKETS = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30];

interface Histogram {
  counts: number[];
  sum: number;
  count: number;
}

function label(value: string): string {
  return value.replace(/\\/g, "\\\\").replace(/"/g, '\\"').replace(/\n/g, "\\n");
}

export class Metrics {
  private readonly requests = new Map<string, number>();
  private readonly latency = new Map<string, Histogram>();
  bytesIn = 0;
  bytesOut = 0;
  inflight = 0;

  observe(method: string, route: string, status: number, seconds: number, bytesIn: number, bytesOut: number): void {
    const key = `${method}\0${status}`;
    this.requests.set(key, (this.requests.get(key) ?? 0) + 1);
    this.bytesIn += bytesIn;
    this.bytesOut += bytesOut;
    const hkey = `${method}\0${route}`;
    let h = this.latency.get(hkey);
    if (!h) {
      h = { counts: BUCKETS.map(() => 0), sum: 0, count: 0 };
      this.latency.set(hkey, h);
    }
    BUCKETS.forEach((b, i) => {
      if (seconds <= b) h!.counts[i]++;
    });
    h.sum += seconds;
    h.count++;
  }

  render(): string {
    const lines: string[] = [];
    lines.push("# HELP wharf_registry_http_requests_total HTTP requests by method and status code.");
    lines.push("# TYPE wharf_registry_http_requests_total counter");
    for (const [key, n] of [...this.requests].sort()) {
      const [method, code] = key.split("\0");
      lines.push(`wharf_registry_http_requests_total{method="${label(method)}",code="${code}"} ${n}`);
    }
    lines.push("# HELP wharf_registry_http_request_bytes_total Bytes received (headers and bodies).");
    lines.push("# TYPE wharf_registry_http_request_bytes_total counter");
    lines.push(`wharf_registry_http_request_bytes_total ${this.bytesIn}`);
    lines.push("# HELP wharf_registry_http_response_bytes_total Bytes sent (headers and bodies).");
    lines.push("# TYPE wharf_registry_http_response_bytes_total counter");
    lines.push(`wharf_registry_http_response_bytes_total ${this.bytesOut}`);
    lines.push("# HELP wharf_registry_http_requests_in_flight Requests being served.");
    lines.push("# TYPE wharf_registry_http_requests_in_flight gauge");
    lines.push(`wharf_registry_http_requests_in_flight ${this.inflight}`);
    lines.push("# HELP wharf_registry_http_request_duration_seconds Request latency by method and route.");
    lines.push("# TYPE wharf_registry_http_request_duration_seconds histogram");
    for (const [key, h] of [...this.latency].sort()) {
      const [method, route] = key.split("\0");
      const l = `method="${label(method)}",route="${label(route)}"`;
      BUCKETS.forEach((b, i) => lines.push(`wharf_registry_http_request_duration_seconds_bucket{${l},le="${b}"} ${h.counts[i]}`));
      lines.push(`wharf_registry_http_request_duration_seconds_bucket{${l},le="+Inf"} ${h.count}`);
      lines.push(`wharf_registry_http_request_duration_seconds_sum{${l}} ${h.sum}`);
      lines.push(`wharf_registry_http_request_duration_seconds_count{${l}} ${h.count}`);
    }
    return lines.join("\n") + "\n";
  }
}
