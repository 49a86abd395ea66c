#include <core/converge/apply.hpp>
#include <core/converge/engine.hpp>
#include <core/converge/probe.hpp>
#include <core/output/redact.hpp>
#include <core/secret.hpp>
#include <core/ssh/keys.hpp>

#include <core/util/text.hpp>

#include <fmt/format.h>
#include <openssl/rand.h>

#include <algorithm>
#include <map>
#include <optional>

namespace berth::converge {

const char* outcome_name(Outcome outcome) {
  switch (outcome) {
    case Outcome::ok: return "ok";
    case Outcome::changed: return "changed";
    case Outcome::failed: return "failed";
    case Outcome::skipped: return "skipped";
  }
  return "?";
}

int HostReport::count(Outcome outcome) const {
  return static_cast<int>(
      std::count_if(resources.begin(), resources.end(),
                    [&](const ResourceReport& r) { return r.outcome == outcome; }) +
      std::count_if(handlers.begin(), handlers.end(),
                    [&](const HandlerReport& h) { return !h.deferred && h.outcome == outcome; }));
}

std::vector<std::string> HostReport::deferred() const {
  std::vector<std::string> out;
  for (const auto& h : handlers) {
    if (h.deferred && h.outcome != Outcome::skipped) out.push_back(h.name);
  }
  return out;
}

std::string generate_secret_value(int bytes) {
  std::string raw(static_cast<std::size_t>(bytes), '\0');
  if (RAND_bytes(reinterpret_cast<unsigned char*>(raw.data()), bytes) != 1) {
    throw Error("could not generate a secret: the system's random source failed", ExitCode::internal);
  }
  static constexpr char table[] =
      "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
  std::string out;
  unsigned bits = 0, buffer = 0;
  for (unsigned char c : raw) {
    buffer = (buffer << 8) | c;
    bits += 8;
    while (bits >= 6) {
      bits -= 6;
      out += table[(buffer >> bits) & 63];
    }
  }
  if (bits > 0) out += table[(buffer << (6 - bits)) & 63];
  return out;
}

namespace {

// Registers a secret's value for redaction, and each line of one that has several (a
// private key), so that no line of it shows either.
void register_secret_lines(std::string_view value) {
  register_secret_value(value);
  if (value.find('\n') == std::string_view::npos) return;
  for (const auto line : util::lines(value)) {
    if (line.size() >= 16 && !line.starts_with("-----")) register_secret_value(line);
  }
}

void replace_all(std::string& text, std::string_view from, std::string_view to) {
  for (auto pos = text.find(from); pos != std::string::npos; pos = text.find(from, pos + to.size())) {
    text.replace(pos, from.size(), to);
  }
}

// The resources to converge: the desired ones plus one 0600 file per generated
// secret, created once and kept on its owner, following the owner's value on a
// server that holds a copy.
std::vector<Resource> with_secret_files(const Desired& desired) {
  auto resources = desired.resources;
  for (const auto& s : desired.secrets) {
    if (s.path.empty() || (s.kind == SecretKind::found && !s.copy)) continue;
    // OpenSSH refuses a private key file without its final line end.
    const auto end = s.kind == SecretKind::ssh_key ? "\n" : "";
    resources.push_back(make(File{.path = s.path, .content = secret_placeholder(s.name) + end,
                                  .mode = "0600", .sensitive = Sensitive::yes,
                                  .overwrite = s.copy ? Overwrite::yes : Overwrite::no},
                             "secrets"));
  }
  return resources;
}

// A secret file's content without the line end an editor may have added.
std::string secret_text(std::string value) {
  while (!value.empty() && (value.back() == '\n' || value.back() == '\r')) value.pop_back();
  return value;
}

// Puts each generated secret's value in place of its placeholder in every file.
// Fails, naming the secret, when the run has no value for one.
std::expected<void, std::string> fill_secrets(const Desired& desired,
                                              const SecretValues& values,
                                              std::vector<Resource>& resources) {
  std::map<std::string, std::string> by_placeholder;
  for (const auto& s : desired.secrets) {
    const auto found = values.find(s.name);
    if (found == values.end()) return std::unexpected(fmt::format("no value for secret {}", s.name));
    if (!found->second.error.empty()) return std::unexpected(found->second.error);
    by_placeholder[secret_placeholder(s.name)] = found->second.value;
    if (s.kind == SecretKind::ssh_key) {
      auto pub = ssh::public_key_of(found->second.value + "\n");
      if (!pub) return std::unexpected(fmt::format("secret {}: {}", s.name, pub.error().what()));
      by_placeholder[secret_public_placeholder(s.name)] = *pub;
    }
  }
  for (auto& r : resources) {
    if (auto* f = std::get_if<File>(&r.spec)) {
      for (const auto& [placeholder, value] : by_placeholder) replace_all(f->content, placeholder, value);
    }
  }
  return {};
}

// The step id under which the missing packages of `stage` are installed together.
std::string first_package_step(Stage stage, const std::vector<Resource>& resources,
                               const std::vector<Change>& changes) {
  for (const auto& c : changes) {
    const auto& r = resources[c.index];
    if (c.action != Action::none && r.stage == stage && std::holds_alternative<Package>(r.spec)) {
      return std::to_string(c.index);
    }
  }
  return {};
}

// Sets the remote commands and the time `report`'s host has taken since its probe began.
void stamp(HostReport& report, const ProbedHost& probed, const Remote& remote) {
  report.execs = remote.exec_count() - probed.execs_before;
  report.elapsed = std::chrono::duration_cast<std::chrono::milliseconds>(
      std::chrono::steady_clock::now() - probed.start);
}

}  // namespace

ProbedHost probe_host(Remote& remote, const Desired& desired,
                      const Progress& progress) {
  ProbedHost probed;
  probed.start = std::chrono::steady_clock::now();
  probed.execs_before = remote.exec_count();
  auto& report = probed.report;
  report.host = remote.name();
  const auto finish = [&] {
    stamp(report, probed, remote);
    return std::move(probed);
  };

  probed.resources = with_secret_files(desired);
  ProbeExtra extra;
  for (const auto& s : desired.secrets) {
    if (!s.path.empty()) extra.read_files[s.name] = s.path;
  }
  for (const auto& e : desired.expectations) extra.expect_files.push_back(e.path);
  extra.read_dir = desired.claims_dir;

  // Probe: one exec reports everything.
  if (progress) progress("probing");
  const auto ran = remote.run_script(render_probe(probed.resources, extra));
  if (!ran) {
    report.error = ran.error().what();
    report.failed_step = "probe";
    return finish();
  }
  if (ran->exit_status != 0) {
    report.error = fmt::format("the probe exited with status {}", ran->exit_status);
    report.failed_step = "probe";
    report.stderr_tail = redact(util::tail_lines(ran->err, 10));
    return finish();
  }
  auto parsed = parse_probe(ran->records, ran->ended, probed.resources.size());
  if (!parsed) {
    report.error = "the probe's output could not be read: " + parsed.error();
    report.failed_step = "probe";
    report.stderr_tail = redact(util::tail_lines(ran->err, 10));
    return finish();
  }
  probed.probe = std::move(*parsed);
  for (auto& [name, value] : probed.probe.files) {
    value = secret_text(std::move(value));
    register_secret_lines(value);
  }
  for (const auto& [index, content] : probed.probe.expected) {
    if (index >= desired.expectations.size()) continue;
    const auto& e = desired.expectations[index];
    if (util::trim(content) == e.content) continue;
    probed.refused = true;
    report.error = fmt::format("{} ({} says {})", e.message, e.path, util::trim(content));
    report.failed_step = "probe";
    break;
  }
  return finish();
}

SecretValues resolve_secrets(const std::vector<const Desired*>& desired,
                             const std::vector<const ProbedHost*>& probed) {
  struct Seen {
    const GeneratedSecret* spec = nullptr;  // the owner's, else a copy's
    bool owner_in_run = false;
    bool owner_probed = false;
    std::optional<std::string> owner_value;
    std::optional<std::string> copy_value;
  };
  std::map<std::string, Seen> seen;
  for (std::size_t i = 0; i < desired.size(); ++i) {
    const bool read = probed[i] != nullptr && !probed[i]->report.failed();
    for (const auto& s : desired[i]->secrets) {
      auto& entry = seen[s.name];
      if (entry.spec == nullptr || !s.copy) entry.spec = &s;
      std::optional<std::string> value;
      if (read) {
        const auto found = probed[i]->probe.files.find(s.name);
        if (found != probed[i]->probe.files.end()) value = found->second;
      }
      if (!s.copy) {
        entry.owner_in_run = true;
        entry.owner_probed = entry.owner_probed || read;
        if (value && !entry.owner_value) entry.owner_value = value;
      } else if (value && !entry.copy_value) {
        entry.copy_value = value;
      }
    }
  }
  SecretValues values;
  for (const auto& [name, entry] : seen) {
    auto& out = values[name];
    if (entry.owner_value) {
      out.value = *entry.owner_value;
    } else if (entry.owner_in_run && entry.owner_probed) {
      // The owner has none yet: a copy's value when there is one (no restart of the
      // apps that use it), else a new one.
      if (entry.copy_value) {
        out.value = *entry.copy_value;
      } else if (entry.spec->kind == SecretKind::found) {
        out.error = fmt::format("secret {}: server {} has no {}", name, entry.spec->owner,
                                entry.spec->path);
      } else {
        out.value = entry.spec->kind == SecretKind::ssh_key ? secret_text(ssh::generate_ed25519_key())
                                                            : generate_secret_value(entry.spec->length);
        register_secret_lines(out.value);
      }
    } else if (entry.copy_value) {
      out.value = *entry.copy_value;
    } else if (entry.owner_in_run) {
      out.error = fmt::format("secret {} is made on server {}, which could not be read in this run",
                              name, entry.spec->owner);
    } else {
      out.error = fmt::format("secret {} is made on server {}, which this run leaves out: "
                              "run once with {} included (in --hosts or --role)",
                              name, entry.spec->owner, entry.spec->owner);
    }
  }
  return values;
}

HostReport apply_host(Remote& remote, const Desired& desired, ProbedHost probed,
                      const SecretValues& secrets, Mode mode, const Progress& progress,
                      const Progress& output) {
  auto report = std::move(probed.report);
  auto resources = std::move(probed.resources);
  const auto& observed = probed.probe;
  auto say = [&](std::string_view what) {
    if (progress) progress(what);
  };
  auto finish = [&] {
    stamp(report, probed, remote);
    return report;
  };
  if (report.failed()) return finish();

  // Plan: a local diff.
  if (auto filled = fill_secrets(desired, secrets, resources); !filled) {
    report.error = filled.error();
    report.failed_step = "secrets";
    return finish();
  }
  const auto changes = plan(resources, observed.resources);
  for (const auto& c : changes) {
    const auto& r = resources[c.index];
    report.resources.push_back({r.id(), r.kind(), r.component, c.action,
                                c.action == Action::none ? Outcome::ok : Outcome::changed, c.reasons,
                                redact(c.diff)});
  }
  const auto& owed = observed.owed;
  if (mode == Mode::plan) {
    for (const auto& h : owed) report.handlers.push_back({h, true, is_deferred(h), Outcome::changed});
    // The app's restart is worth saying before it happens, owed or not.
    for (int s = 0; s < stage_count; ++s) {
      for (const auto& h : triggered_handlers(static_cast<Stage>(s), resources, changes)) {
        const bool listed = std::any_of(report.handlers.begin(), report.handlers.end(),
                                        [&](const HandlerReport& r) { return r.name == h; });
        if (is_deferred(h) && !listed) report.handlers.push_back({h, false, true, Outcome::changed});
      }
    }
    return finish();
  }
  // From here a change counts only once its step reported ok: what a failure kept
  // from running stays "skipped", never "changed".
  for (auto& rep : report.resources) {
    if (rep.action != Action::none) rep.outcome = Outcome::skipped;
  }

  // An owed restart of the app is due whatever this run changes: the command runs it.
  for (const auto& h : owed) {
    if (is_deferred(h)) report.handlers.push_back({h, true, true, Outcome::changed});
  }

  // Apply: one script per stage that has changes; stop at the first failure.
  for (int s = 0; s < stage_count && !report.failed(); ++s) {
    const auto stage = static_cast<Stage>(s);
    const auto& stage_owed = stage == owed_stage ? owed : std::vector<std::string>{};
    const auto script = render_apply(stage, resources, changes, stage_owed, desired.handler_scripts);
    if (script.empty()) continue;
    std::string what;
    for (const auto& c : changes) {
      const auto& r = resources[c.index];
      if (c.action != Action::none && r.stage == stage) what += " " + r.id();
    }
    const auto handlers = triggered_handlers(stage, resources, changes, stage_owed);
    const auto first_handler = report.handlers.size();
    for (const auto& h : handlers) {
      const bool was_owed = std::find(owed.begin(), owed.end(), h) != owed.end();
      if (was_owed && is_deferred(h)) continue;  // listed above
      report.handlers.push_back({h, was_owed, is_deferred(h), Outcome::skipped});
      if (was_owed) what += " (owed) " + h;
    }
    say(fmt::format("applying {}:{}", stage_name(stage), what));
    // Steps are read as they arrive: a connection lost halfway still tells what ran,
    // and when each began and ended.
    ApplyReport steps;
    using Clock = std::chrono::steady_clock;
    const auto stage_start = Clock::now();
    std::map<std::string, Clock::time_point> began;
    std::map<std::string, std::chrono::milliseconds> took;
    const auto ran = remote.run_script(
        script, Privilege::root,
        [&](Stream, std::string_view line) {
          if (output) output(line);
        },
        [&](const util::Record& r) {
          note_step(steps, r);
          if (r.field != "step") return;
          if (r.value == "begin") {
            began[r.subject] = Clock::now();
          } else if (const auto b = began.find(r.subject); b != began.end()) {
            took[r.subject] = std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - b->second);
          }
        });
    const auto stage_took = std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - stage_start);
    report.stages.push_back({std::string(stage_name(stage)), stage_took});
    const auto took_of = [&](const std::string& id) {
      const auto it = took.find(id);
      return it == took.end() ? std::chrono::milliseconds{0} : it->second;
    };
    const auto status_of = [&](const std::string& id) {
      const auto it = steps.steps.find(id);
      return it == steps.steps.end() ? StepStatus::pending : it->second;
    };
    const auto outcome_of = [](StepStatus status, Outcome otherwise) {
      switch (status) {
        case StepStatus::ok: return Outcome::changed;
        case StepStatus::unchanged: return Outcome::ok;
        case StepStatus::failed:
        case StepStatus::begun: return Outcome::failed;
        case StepStatus::pending: break;
      }
      return otherwise;
    };
    const auto package_step = first_package_step(stage, resources, changes);
    for (const auto& c : changes) {
      if (c.action == Action::none || resources[c.index].stage != stage) continue;
      const auto id = std::holds_alternative<Package>(resources[c.index].spec)
                          ? package_step
                          : std::to_string(c.index);
      auto& outcome = report.resources[c.index].outcome;
      outcome = outcome_of(status_of(id), outcome);
      report.resources[c.index].elapsed = took_of(id);
    }
    for (auto i = first_handler; i < report.handlers.size(); ++i) {
      auto& h = report.handlers[i];
      if (!h.deferred) {
        h.outcome = outcome_of(status_of("h:" + h.name), h.outcome);
        h.elapsed = took_of("h:" + h.name);
        continue;
      }
      // Due once it is owed on the server: before this run, or since a step that
      // records it reported ok.
      bool recorded = h.owed;
      for (const auto& c : changes) {
        const auto& r = resources[c.index];
        if (c.action == Action::none || r.stage != stage ||
            std::find(r.notify.begin(), r.notify.end(), h.name) == r.notify.end()) {
          continue;
        }
        const auto id = std::holds_alternative<Package>(r.spec) ? package_step : std::to_string(c.index);
        const auto st = status_of(id);
        recorded = recorded || st == StepStatus::ok || st == StepStatus::begun || st == StepStatus::failed;
      }
      h.outcome = recorded ? Outcome::changed : Outcome::skipped;
    }
    const auto& id = steps.failed_step;
    const auto step_name = [&](const std::string& step) {
      return step.starts_with("h:") ? "handler " + step.substr(2) : resources[std::stoul(step)].id();
    };
    const auto slowest = std::max_element(took.begin(), took.end(),
                                          [](const auto& a, const auto& b) { return a.second < b.second; });
    // A command's id is its whole guard: the first words name it well enough here.
    const auto shown = [](std::string name) {
      return name.size() > 72 ? name.substr(0, 69) + "..." : name;
    };
    say(fmt::format("{} took {:.1f} s{}", stage_name(stage), static_cast<double>(stage_took.count()) / 1000.0,
                    slowest == took.end() || took.size() < 2
                        ? std::string()
                        : fmt::format(", the longest step {} {:.1f} s",
                                      slowest->first == package_step ? "apt-get install" : shown(step_name(slowest->first)),
                                      static_cast<double>(slowest->second.count()) / 1000.0)));
    if (!ran) {
      // The step that had begun and not ended is where the connection was lost.
      std::string in_flight;
      for (const auto& [step, status] : steps.steps) {
        if (status == StepStatus::begun) in_flight = step_name(step);
      }
      report.failed_step = in_flight.empty() ? std::string(stage_name(stage)) : in_flight;
      report.error = in_flight.empty() ? std::string(ran.error().what())
                                       : fmt::format("{} (during {})", ran.error().what(), in_flight);
    } else if (ran->exit_status != 0 || !id.empty()) {
      report.failed_step = id.empty() ? std::string(stage_name(stage)) : step_name(id);
      report.error = fmt::format("{} failed (exit status {})", report.failed_step,
                                 id.empty() ? ran->exit_status : steps.failed_exit_code);
      report.stderr_tail = redact(util::tail_lines(ran->err, 15));
    }
  }
  return finish();
}

}  // namespace berth::converge
