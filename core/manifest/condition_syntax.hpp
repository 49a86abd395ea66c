#pragma once

// A quick offline look at a health condition, for `berth check`. The full parser
// and evaluator live in core/health/; this only catches what is obviously wrong.

#include <optional>
#include <string>
#include <string_view>

namespace berth::manifest {

// nullopt when `condition` looks like `[PLACEHOLDER] OP value`, `len([...]) OP value`
// or `has([...]) OP value` (OP one of == != < <= > >=; placeholders STATUS,
// RESPONSE_TIME, BODY (with an optional .json.path), CONNECTED, CERTIFICATE_EXPIRATION,
// IP, DNS_RCODE, DOMAIN_EXPIRATION); otherwise what is wrong with it.
std::optional<std::string> validate_condition_syntax(std::string_view condition);

}  // namespace berth::manifest
