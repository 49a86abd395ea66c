#pragma once

// Checks from the operator's machine: http(s) requests and tcp connects, all run at
// once on one libcurl multi handle, so that N checks take about as long as the
// slowest one, not their sum.

#include <core/error.hpp>
#include <core/health/condition.hpp>

#include <chrono>
#include <cstddef>
#include <expected>
#include <span>
#include <string>
#include <vector>

namespace berth::health {

enum class ProbeKind { http, tcp };

// Whether TLS certificates are checked. `skip` only when the manifest says so.
enum class TlsVerify { verify, skip };

// One check to run from here.
struct Probe {
  ProbeKind kind = ProbeKind::http;
  std::string target;                    // http: the URL; tcp: host:port ([v6addr]:port)
  std::string method = "GET";
  std::vector<std::string> headers;      // "Name: value"
  // Reach a name before DNS points at the server, as curl --connect-to:
  // "HOST:PORT:CONNECT-TO-HOST:CONNECT-TO-PORT" (empty parts mean "any"/"same").
  std::vector<std::string> connect_to;
  std::string ca_file;                   // PEM bundle to verify the server with; empty: system CAs
  TlsVerify tls_verify = TlsVerify::verify;
  std::chrono::milliseconds connect_timeout{5000};
  std::chrono::milliseconds timeout{10000};  // the whole request
  std::size_t max_body = 1 << 20;        // bytes of body kept; the rest is read and dropped
};

// What one probe observed. `error` is empty when the exchange completed (an HTTP
// error status is not an error here: conditions judge it); otherwise it says what
// failed ("Connection refused", "Operation timed out after 5001 milliseconds...").
struct ProbeResult {
  Observation observation;
  std::string error;
  std::chrono::milliseconds duration{0};  // wall time of this probe
};

// The libcurl version berth runs with, e.g. "7.88.1".
std::string http_library_version();

// Runs every probe at once on one curl multi handle and returns their results in the
// same order. Proxies from the environment are not used (a health check talks to the
// server itself). For https, [CERTIFICATE_EXPIRATION] is the time left on the
// server's leaf certificate. Fails only when libcurl itself cannot be set up; a probe
// that fails to connect is a result with `error` set and connected = false.
std::expected<std::vector<ProbeResult>, Error> run_probes(std::span<const Probe> probes);

}  // namespace berth::health
