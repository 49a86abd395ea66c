// The host's firewall: every component's FirewallRule rendered into one nftables
// ruleset, checked with `nft -c` and applied whole by reloading nftables.service.
#include <core/error.hpp>
#include <core/layout/claims.hpp>
#include <core/render.hpp>
#include <provisioners/base/base.hpp>

#include <fmt/format.h>

#include <algorithm>

namespace berth::provisioners {

using namespace converge;

namespace {

bool is_source(std::string_view from) {
  return !from.empty() && from.size() <= 64 &&
         from.find_first_not_of("0123456789abcdefABCDEF.:/") == std::string_view::npos;
}

// The match part of a rule: "[ip|ip6 saddr FROM ]tcp dport PORT".
std::string match(const FirewallRule& rule) {
  if (rule.port < 1 || rule.port > 65535 || (rule.proto != "tcp" && rule.proto != "udp") ||
      (!rule.from.empty() && !is_source(rule.from))) {
    throw Error(fmt::format("firewall rule '{}' is invalid: port {}, proto '{}', from '{}'",
                            rule.why, rule.port, rule.proto, rule.from),
                ExitCode::internal);
  }
  std::string out;
  if (!rule.from.empty()) {
    out = fmt::format("{} saddr {} ", rule.from.find(':') == std::string::npos ? "ip" : "ip6",
                      rule.from);
  }
  return out + fmt::format("{} dport {}", rule.proto, rule.port);
}

// nft comments are double-quoted and at most 128 bytes.
std::string comment(std::string_view why) {
  std::string out;
  for (char c : why) {
    if (out.size() >= 120) break;
    out += c == '"' || c == '\\' || c == '\n' ? '\'' : c;
  }
  return out;
}

kainjow::mustache::data rule_list(const std::vector<FirewallRule>& rules) {
  std::vector<std::pair<std::string, std::string>> merged;  // match, why
  for (const auto& rule : rules) {
    const auto key = match(rule);
    const auto it =
        std::find_if(merged.begin(), merged.end(), [&](const auto& r) { return r.first == key; });
    if (it == merged.end()) {
      merged.emplace_back(key, rule.why);
    } else if (!rule.why.empty() && it->second.find(rule.why) == std::string::npos) {
      it->second += (it->second.empty() ? "" : ", ") + rule.why;
    }
  }
  kainjow::mustache::data list{kainjow::mustache::data::type::list};
  for (const auto& [key, why] : merged) {
    kainjow::mustache::data r;
    r.set("match", key);
    r.set("why", comment(why));
    list.push_back(r);
  }
  return list;
}

}  // namespace

std::string render_firewall(const manifest::Manifest& m, const std::vector<FirewallRule>& rules) {
  kainjow::mustache::data d;
  d.set("rules", rule_list(rules));
  d.set("fragments", std::string(layout::firewall_dir) + "/*.nft");
  return render_template(m.dir, "base/nftables.conf.mustache", d);
}

std::string render_firewall_fragment(const manifest::Manifest& m, const std::vector<FirewallRule>& rules) {
  kainjow::mustache::data d;
  d.set("app", m.app.name);
  d.set("rules", rule_list(rules));
  return render_template(m.dir, "base/nftables-app.nft.mustache", d);
}

void add_firewall(const manifest::Manifest& m, const manifest::Server& s, const std::vector<FirewallRule>& rules,
                  Desired& out) {
  auto& r = out.resources;
  r.push_back(make(Package{"nftables"}, "firewall"));
  // The host's ruleset opens the SSH port alone; each app's openings are its own file.
  const FirewallRule ssh{.port = s.port, .why = "ssh"};
  std::vector<FirewallRule> own;
  for (const auto& rule : rules) {
    if (rule.port != ssh.port || rule.proto != ssh.proto || !rule.from.empty()) own.push_back(rule);
  }
  r.push_back(make(Directory{.path = layout::firewall_dir, .mode = "0755"}, "firewall"));
  // Checked alone, inside a chain of a table nft only parses.
  r.push_back(make(File{.path = layout::firewall_fragment(m.app.name),
                        .content = render_firewall_fragment(m, own),
                        .validate = "printf 'table inet berth_check {\\n chain input {\\n include \"%s\"\\n }\\n}\\n' "
                                    "{} | nft -c -f /dev/stdin"},
                   "firewall", {"reload:nftables.service"}));
  // Before it takes effect: nft must accept the file, and every port sshd listens on
  // must stay open (the manifest's port may be a forward, or an ~/.ssh/config alias's).
  r.push_back(make(
      File{.path = nftables_conf,
           .content = render_firewall(m, {ssh}),
           .mode = "0755",
           .validate =
               "nft -c -f {} && for p in $(/usr/sbin/sshd -T 2>/dev/null | awk '$1 == \"port\" "
               "{ print $2 }'); do cat {} "
               "/etc/berth/firewall.d/*.nft 2>/dev/null | grep -Eq \"^[[:space:]]*tcp dport $p accept\" || { echo "
               "\"{} would close port $p, where sshd listens: add $p to [base] open_ports or set "
               "port = $p for this server\"; exit 1; }; done"},
      "firewall", {"reload:nftables.service"}));
  r.push_back(make(Unit{"nftables.service"}, "firewall"));
}

}  // namespace berth::provisioners
