#include <core/debian.hpp>
#include <core/sandbox/naming.hpp>

#include <fmt/format.h>
#include <openssl/evp.h>

#include <charconv>
#include <cstdint>

namespace berth::sandbox {

namespace {

bool all_digits(std::string_view text) {
  if (text.empty()) return false;
  for (char c : text) {
    if (c < '0' || c > '9') return false;
  }
  return true;
}

std::optional<int> parse_int(std::string_view text) {
  if (!all_digits(text) || text.size() > 6) return std::nullopt;
  int value = 0;
  std::from_chars(text.data(), text.data() + text.size(), value);
  return value;
}

std::string toml_string(std::string_view text) {
  std::string quoted = "\"";
  for (char c : text) {
    switch (c) {
    case '"':
      quoted += "\\\"";
      break;
    case '\\':
      quoted += "\\\\";
      break;
    case '\n':
      quoted += "\\n";
      break;
    case '\t':
      quoted += "\\t";
      break;
    default:
      quoted += c;
    }
  }
  return quoted + "\"";
}

}  // namespace

std::string name_problem(std::string_view name) {
  if (name.empty() || name.size() > 32) return "must be 1 to 32 characters long";
  if (name.front() < 'a' || name.front() > 'z') return "must start with a lowercase letter";
  if (name.back() == '-') return "must not end with '-'";
  for (char c : name) {
    const bool ok = (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-';
    if (!ok) return "may contain only a-z, 0-9 and '-'";
  }
  return {};
}

std::string bridge_name(std::string_view name) {
  if (name.size() <= 9) return fmt::format("{}-{}", link_prefix, name);
  // FNV-1a: stable across builds and machines, unlike std::hash.
  std::uint32_t hash = 2166136261u;
  for (char c : name) {
    hash ^= static_cast<unsigned char>(c);
    hash *= 16777619u;
  }
  return fmt::format("{}-{}{:05}", link_prefix, name.substr(0, 4), hash % 100000);
}

std::string machine_name(std::string_view name, int host) {
  return fmt::format("{}-{}-{}", link_prefix, name, host);
}

bool is_machine_of(std::string_view machine, std::string_view name) {
  const std::string prefix = fmt::format("{}-{}-", link_prefix, name);
  return machine.starts_with(prefix) && all_digits(machine.substr(prefix.size()));
}

std::string veth_name(int subnet, int host) {
  return fmt::format("{}{}v{}", link_prefix, subnet, host);
}

std::string server_name(std::string_view name, int host, int count) {
  return count == 1 ? std::string(name) : fmt::format("{}-{}", name, host);
}

std::string host_address(int subnet, int host) {
  return fmt::format("198.{}.{}.{}", 18 + subnet / 256, subnet % 256, host + 1);
}

std::string subnet_cidr(int subnet) {
  return fmt::format("198.{}.{}.0/24", 18 + subnet / 256, subnet % 256);
}

std::optional<int> subnet_of(std::string_view address) {
  std::vector<int> parts;
  while (true) {
    const auto dot = address.find('.');
    auto part = parse_int(address.substr(0, dot));
    if (!part || *part > 255) return std::nullopt;
    parts.push_back(*part);
    if (dot == std::string_view::npos) break;
    address.remove_prefix(dot + 1);
  }
  if (parts.size() != 4 || parts[0] != 198 || (parts[1] != 18 && parts[1] != 19)) {
    return std::nullopt;
  }
  return (parts[1] - 18) * 256 + parts[2];
}

std::optional<int> allocate_subnet(const std::set<int>& used) {
  for (int subnet = first_subnet; subnet <= last_subnet; ++subnet) {
    if (!used.contains(subnet)) return subnet;
  }
  return std::nullopt;
}

std::optional<HostRef> parse_host_ref(std::string_view text) {
  HostRef ref;
  const auto slash = text.find('/');
  ref.sandbox = std::string(text.substr(0, slash));
  if (!name_problem(ref.sandbox).empty()) return std::nullopt;
  if (slash != std::string_view::npos) {
    auto host = parse_int(text.substr(slash + 1));
    if (!host || *host < 1 || *host > max_hosts) return std::nullopt;
    ref.host = *host;
  }
  return ref;
}

std::string render_stanza(const std::vector<StanzaHost>& hosts) {
  std::string text;
  for (const auto& host : hosts) {
    if (!text.empty()) text += '\n';
    text += fmt::format("[servers.{}]\n", host.server);
    text += fmt::format("address = {}\n", toml_string(host.address));
    text += "user = \"root\"\n";
    text += fmt::format("identity_file = {}\n", toml_string(host.identity_file));
    text += fmt::format("known_hosts = {}\n", toml_string(host.known_hosts));
  }
  return text;
}

CacheRecipe default_recipe(int release) {
  CacheRecipe recipe;
  if (const auto r = debian::find(release)) recipe.suite = r->codename;
  // DESIGN.md's list: what berth needs on a server, nothing more (no Python).
  recipe.packages = {"systemd",  "systemd-sysv",    "dbus", "openssh-server",
                     "iproute2", "ca-certificates", "sudo"};
#if defined(__x86_64__)
  recipe.architecture = "amd64";
#elif defined(__aarch64__)
  recipe.architecture = "arm64";
#else
  recipe.architecture = "unknown";
#endif
  return recipe;
}

std::string cache_key(const CacheRecipe& recipe) {
  std::string text = fmt::format("suite={}\nvariant={}\narch={}\nversion={}\n", recipe.suite,
                                 recipe.variant, recipe.architecture, recipe.version);
  for (const auto& package : recipe.packages)
    text += "include=" + package + "\n";
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int length = 0;
  EVP_Digest(text.data(), text.size(), digest, &length, EVP_sha256(), nullptr);
  return fmt::format("{}-{}-v{}-{:02x}{:02x}{:02x}{:02x}", recipe.suite, recipe.architecture,
                     recipe.version, digest[0], digest[1], digest[2], digest[3]);
}

std::optional<int> cache_key_version(const std::string& name, const CacheRecipe& recipe) {
  const auto prefix = fmt::format("{}-{}-v", recipe.suite, recipe.architecture);
  if (!name.starts_with(prefix)) return std::nullopt;
  const auto dash = name.find('-', prefix.size());
  if (dash == std::string::npos || name.find('.', dash) != std::string::npos) return std::nullopt;
  int version = 0;
  const auto digits = std::string_view(name).substr(prefix.size(), dash - prefix.size());
  const auto [end, error] = std::from_chars(digits.data(), digits.data() + digits.size(), version);
  if (error != std::errc() || end != digits.data() + digits.size()) return std::nullopt;
  return version;
}

}  // namespace berth::sandbox
