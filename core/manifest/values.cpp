#include <core/util/text.hpp>
#include <core/manifest/text.hpp>
#include <core/manifest/values.hpp>

#include <boost/process.hpp>
#include <fmt/format.h>

#include <cctype>
#include <cstdlib>
#include <fstream>

namespace berth::manifest {

namespace {

using util::trim;

namespace bp = boost::process;

}  // namespace

std::optional<std::string> process_env(const std::string& name) {
  const char* value = std::getenv(name.c_str());
  if (value == nullptr) return std::nullopt;
  return std::string(value);
}

SecretSources::SecretSources(const Manifest& manifest, EnvLookup env)
    : manifest_(manifest), env_(std::move(env)) {}

const std::map<std::string, std::string>& SecretSources::secrets_file() {
  if (file_) return *file_;
  file_.emplace();
  std::ifstream in(manifest_.dir / ".berth" / "secrets");
  for (std::string line; std::getline(in, line);) {
    const auto text = trim(line);
    if (text.empty() || text.front() == '#') continue;
    const auto eq = text.find('=');
    if (eq == std::string::npos) continue;
    auto value = trim(text.substr(eq + 1));
    if (value.size() >= 2 && (value.front() == '"' || value.front() == '\'') &&
        value.back() == value.front()) {
      value = value.substr(1, value.size() - 2);
    }
    (*file_)[trim(text.substr(0, eq))] = value;
  }
  return *file_;
}

std::expected<Secret, Error> SecretSources::get(const std::string& name) {
  if (auto it = cache_.find(name); it != cache_.end()) return it->second;
  const SecretSource* source = nullptr;
  for (const auto& s : manifest_.secrets) {
    if (s.name == name) source = &s;
  }
  std::optional<std::string> value = env_(name);
  if (!value && source && !source->env.empty()) value = env_(source->env);
  if (!value) {
    const auto& file = secrets_file();
    if (auto it = file.find(name); it != file.end()) value = it->second;
  }
  if (!value && source && !source->command.empty()) {
    bp::ipstream out;
    std::error_code ec;
    bp::child child(bp::search_path("sh"), "-c", source->command, bp::std_out > out,
                    bp::start_dir = manifest_.dir.empty() ? "." : manifest_.dir.string(), ec);
    if (ec) {
      return std::unexpected(Error(fmt::format("secret {}: cannot run `{}`: {}", name,
                                               source->command, ec.message())));
    }
    std::string output((std::istreambuf_iterator<char>(out)), std::istreambuf_iterator<char>());
    child.wait();
    if (child.exit_code() != 0) {
      return std::unexpected(Error(
          fmt::format("secret {}: `{}` exited with status {}", name, source->command,
                      child.exit_code()),
          ExitCode::failure, "run the command by hand to see why it fails"));
    }
    while (!output.empty() && (output.back() == '\n' || output.back() == '\r')) output.pop_back();
    value = std::move(output);
  }
  if (!value) {
    auto tried = fmt::format("the environment variable {}, {}", name,
                             (manifest_.dir / ".berth" / "secrets").string());
    if (source && !source->env.empty()) tried += ", the environment variable " + source->env;
    return std::unexpected(Error(
        fmt::format("secret {} not found (tried {})", name, tried), ExitCode::failure,
        fmt::format("export {}=..., add {}=... to .berth/secrets, or declare [secrets.{}] with a "
                    "command",
                    name, name, name)));
  }
  auto [it, inserted] = cache_.emplace(name, Secret(std::move(*value)));
  return it->second;
}

std::expected<ResolvedValue, Error> resolve_value(std::string_view text, SecretSources& sources) {
  auto pieces = split_value(text);
  if (!pieces) return std::unexpected(Error(fmt::format("invalid value: {}", pieces.error())));
  ResolvedValue result;
  std::string out;
  for (const auto& piece : *pieces) {
    if (!piece.reference) {
      out += piece.literal;
    } else if (piece.reference->kind == Reference::Kind::env) {
      auto value = sources.env(piece.reference->name);
      if (!value) {
        return std::unexpected(Error(
            fmt::format("environment variable {} is not set (used as ${{env:{}}})",
                        piece.reference->name, piece.reference->name),
            ExitCode::failure, fmt::format("export {}=...", piece.reference->name)));
      }
      out += *value;
    } else {
      auto secret = sources.get(piece.reference->name);
      if (!secret) return std::unexpected(secret.error());
      out += secret->reveal();
      result.from_secret = true;
    }
  }
  if (result.from_secret) {
    result.secret = Secret(std::move(out));
  } else {
    result.text = std::move(out);
  }
  return result;
}

}  // namespace berth::manifest
