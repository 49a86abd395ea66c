#pragma once

// Values of the manifest that may hold references: `${env:NAME}` (the operator's
// environment) and `${secret:NAME}` (a secret source). `$${` writes a literal `${`.
// `berth check` only checks the syntax (parse_references); commands that need the
// value resolve it (resolve_value), and whatever came from a secret is held as a
// berth::Secret so that it is redacted in every output.

#include <core/error.hpp>
#include <core/manifest/manifest.hpp>
#include <core/secret.hpp>

#include <expected>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace berth::manifest {

// One `${KIND:NAME}` in a value.
struct Reference {
  enum class Kind { env, secret };
  Kind kind = Kind::env;
  std::string name;
};

// A piece of a value: literal text (`$${` already made `${`), or a reference.
struct ValuePiece {
  std::string literal;
  std::optional<Reference> reference;
};

// `text` cut into literal text and references; fails as parse_references does.
std::expected<std::vector<ValuePiece>, std::string> split_value(std::string_view text);

// The references in `text`, in order. Fails with a message (for a Diagnostic) when
// a `${` is not closed, the kind is not env or secret, or NAME is not
// [A-Za-z_][A-Za-z0-9_]*. Needs nothing but the text.
std::expected<std::vector<Reference>, std::string> parse_references(std::string_view text);

// Reads an environment variable; nullopt when unset. Replaceable in tests.
using EnvLookup = std::function<std::optional<std::string>(const std::string& name)>;

// The process environment (std::getenv).
std::optional<std::string> process_env(const std::string& name);

// Where `${secret:NAME}` values come from, tried in this order: the environment
// variable NAME; the variable named by [secrets.NAME] env; the line NAME=value of
// .berth/secrets next to the manifest (git-ignored; '#' comments, optional quotes);
// the output of [secrets.NAME] command (run with /bin/sh in the manifest's folder,
// trailing newline removed). Values are looked up once and cached.
class SecretSources {
 public:
  SecretSources(const Manifest& manifest, EnvLookup env = process_env);

  // The secret NAME. Fails with berth::Error when no source has it (naming the
  // sources tried) or when its command fails (with its exit status).
  std::expected<Secret, Error> get(const std::string& name);
  // The environment variable NAME, or nullopt.
  std::optional<std::string> env(const std::string& name) const { return env_(name); }

 private:
  const std::map<std::string, std::string>& secrets_file();

  const Manifest& manifest_;
  EnvLookup env_;
  std::optional<std::map<std::string, std::string>> file_;
  std::map<std::string, Secret> cache_;
};

// A value with its references replaced by what they stand for.
struct ResolvedValue {
  bool from_secret = false;   // some part came from ${secret:...}
  std::string text;           // the value when !from_secret (empty otherwise)
  Secret secret;              // the value when from_secret

  // The value, whatever its origin: for writing it into a 0600 file on a server.
  const std::string& reveal() const { return from_secret ? secret.reveal() : text; }
};

// Resolves every reference of `text`. Fails with berth::Error when the syntax is
// wrong, an environment variable is unset, or a secret cannot be found.
std::expected<ResolvedValue, Error> resolve_value(std::string_view text, SecretSources& sources);

}  // namespace berth::manifest
