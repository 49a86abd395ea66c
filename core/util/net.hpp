#pragma once

// Internet addresses, as text.

#include <string_view>

namespace berth::util {

// Whether `text` is an IPv4 or IPv6 address (inet_pton's forms), optionally followed
// by "/PREFIX" with PREFIX at most 32 (IPv4) or 128 (IPv6).
bool is_cidr(std::string_view text);
// Whether `text` is an IPv4 or IPv6 address, without a prefix.
bool is_address(std::string_view text);

}  // namespace berth::util
