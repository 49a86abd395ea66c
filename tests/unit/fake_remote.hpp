#pragma once

// A fake server for unit tests (the seam of core/remote.hpp): answers each script
// with the first rule whose pattern the script contains, and records every script
// it was sent. An answer is framed output as a server would send it (token "berth",
// see framed.hpp), or a transport failure: records are passed to the caller's
// RecordSink as they would arrive, before a lost connection's error too.

#include <core/hosts.hpp>
#include <core/remote.hpp>
#include <core/util/text.hpp>
#include <tests/unit/framed.hpp>

#include <optional>
#include <string>
#include <vector>

namespace berth::test {

class FakeRemote : public Remote {
 public:
  explicit FakeRemote(std::string name = "web") : name_(std::move(name)) {}

  // Scripts containing `pattern` print `output` and exit with `status`.
  FakeRemote& answer(std::string pattern, std::string output, int status = 0) {
    rules_.push_back({std::move(pattern), std::move(output), status, {}});
    return *this;
  }
  // Scripts containing `pattern` print `output`, then the connection is lost.
  FakeRemote& lose_connection(std::string pattern, std::string output = {}) {
    rules_.push_back({std::move(pattern), std::move(output), -1, "connection lost"});
    return *this;
  }

  const std::string& name() const override { return name_; }
  int exec_count() const override { return static_cast<int>(sent.size()); }

  std::expected<ScriptResult, Error> run_script(std::string_view script, Privilege = Privilege::root,
                                                const LineSink& sink = {},
                                                const RecordSink& records = {}) override {
    sent.emplace_back(script);
    for (const auto& rule : rules_) {
      if (script.find(rule.pattern) == std::string_view::npos) continue;
      auto result = framed("@@berth begin\n" + rule.output, rule.status);
      for (const auto& r : result.records) {
        if (records) records(r);
      }
      if (sink) {
        for (const auto line : util::lines(result.out)) sink(Stream::out, line);
      }
      if (!rule.lost.empty()) return std::unexpected(Error(name_ + ": exec: " + rule.lost));
      return result;
    }
    return std::unexpected(Error(name_ + ": fake: no answer for script:\n" + std::string(script.substr(0, 200))));
  }

  // An upload arrives whole (nothing is sent anywhere); its folder goes to `uploads`.
  std::expected<UploadResult, Error> upload_tar(const std::filesystem::path&, std::string_view remote_dir,
                                                Privilege = Privilege::root) override {
    uploads.emplace_back(remote_dir);
    return UploadResult{};
  }

  // Every script run, in order.
  std::vector<std::string> sent;
  // The folder of every upload, in order.
  std::vector<std::string> uploads;

 private:
  struct Rule {
    std::string pattern;
    std::string output;
    int status = 0;
    std::string lost;
  };
  std::string name_;
  std::vector<Rule> rules_;
};

// Fake hosts: one FakeRemote each, run one after the other; a host marked
// unreachable fails every run with a connect Error, as ssh::Fleet does.
class FakeHosts : public Hosts {
 public:
  explicit FakeHosts(std::size_t count) {
    for (std::size_t i = 0; i < count; ++i) remotes.emplace_back("web-" + std::to_string(i + 1));
  }

  std::size_t size() const override { return remotes.size(); }
  const std::string& name(std::size_t i) const override { return remotes[i].name(); }
  bool fail_fast() const override { return false; }
  void forget(std::size_t) override {}

  HostResults run(const HostWork& work) override {
    HostResults results(remotes.size());
    for (std::size_t i = 0; i < remotes.size(); ++i) {
      results[i].host = remotes[i].name();
      if (i < unreachable.size() && unreachable[i]) {
        results[i].error = Error(remotes[i].name() + ": connect: refused", ExitCode::unreachable, "is sshd running?");
        continue;
      }
      if (auto done = work(i, remotes[i]); !done) results[i].error = done.error();
    }
    return results;
  }

  std::vector<FakeRemote> remotes;
  std::vector<bool> unreachable;
};

}  // namespace berth::test
