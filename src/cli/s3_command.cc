#include "cli/s3_command.h"

#include <unistd.h>

#include <boost/json.hpp>
#include <cctype>
#include <charconv>
#include <cstdio>
#include <ctime>
#include <filesystem>
#include <fstream>

#include "api/client/api_client.h"
#include "api/s3/xml.h"
#include "api/sigv4/canonical.h"

namespace stageline::cli {
namespace {

namespace fs = std::filesystem;
namespace json = boost::json;
namespace xml = api::s3::xml;
using api::client::ApiClient;
using api::client::HttpResponse;

constexpr size_t kPartSize = 8 * 1024 * 1024;  // the aws CLI's multipart threshold and chunk

std::string_view usage() {
  return "usage: stageline s3 mb s3://BUCKET\n"
         "       stageline s3 ls [s3://BUCKET[/PREFIX]] [--recursive]\n"
         "       stageline s3 cp SOURCE DEST   (a local file or - and s3://BUCKET/KEY, either\n"
         "                                      way round, or two s3:// URLs)\n"
         "       stageline s3 expire [--at +DAYSd|YYYY-MM-DD] [--dry-run]\n"
         "                                     (apply the buckets' lifecycle rules now, or as\n"
         "                                      if it were that time)\n"
         "  options: [--endpoint-url URL] [--region R] [--data-dir DIR] [--profile P]\n\n"
         "The buckets and objects of the Stageline server, printed as `aws s3` prints them.\n"
         "Files above 8 MiB go up as multipart uploads and come down in ranges.\n";
}

std::string encode(std::string_view text, bool keep_slash) {
  return api::sigv4::uri_encode(text, keep_slash);
}

// "2026-11-27T12:00:00.000Z" -> "2026-11-27 12:00:00", as aws s3 ls shows it.
std::string ls_time(std::string iso) {
  if (iso.size() >= 19) {
    iso = iso.substr(0, 19);
    iso[10] = ' ';
  }
  return iso;
}

// The error an S3 answer carries, as the aws CLI words it.
std::string s3_error(const HttpResponse& r, std::string_view operation) {
  std::string code = std::to_string(r.status), message = r.reason;
  if (auto doc = xml::parse(r.body); doc.ok() && doc->name == "Error") {
    if (std::string c = doc->child_text("Code"); !c.empty()) code = c;
    if (std::string m = doc->child_text("Message"); !m.empty()) message = m;
  }
  return "An error occurred (" + code + ") when calling the " + std::string(operation) +
         " operation: " + message;
}

bool ok_status(const HttpResponse& r) { return r.status >= 200 && r.status < 300; }

class S3Client {
 public:
  S3Client(ApiClient client, std::ostream& err) : client_(std::move(client)), err_(err) {}

  // Sends one request; nullopt (and the transport error printed) when no
  // answer came.
  std::optional<HttpResponse> send(std::string_view method, const std::string& target,
                                   std::string body = "",
                                   const std::vector<api::sigv4::Header>& headers = {}) {
    auto r = client_.request(method, target, "", std::move(body), headers);
    if (!r.ok()) {
      err_ << "stageline s3: " << r.status().message() << "\n";
      return std::nullopt;
    }
    return std::move(*r);
  }

 private:
  ApiClient client_;
  std::ostream& err_;
};

// Reads up to kPartSize bytes; false on a read error.
bool read_part(std::istream& in, std::string& part) {
  part.resize(kPartSize);
  in.read(part.data(), static_cast<std::streamsize>(part.size()));
  part.resize(static_cast<size_t>(in.gcount()));
  return !in.bad();
}

int upload(S3Client& s3, std::istream& in, const std::string& source, const S3Url& dest,
           std::ostream& out, std::ostream& err) {
  const std::string shown = "s3://" + dest.bucket + "/" + dest.key;
  const std::string target = object_target(dest.bucket, dest.key);
  auto failed = [&](const std::string& why) {
    err << "upload failed: " << source << " to " << shown << " " << why << "\n";
    return 1;
  };
  std::string part;
  if (!read_part(in, part)) return failed("cannot read " + source);
  if (in.eof()) {  // small enough for one PutObject
    auto r = s3.send("PUT", target, std::move(part));
    if (!r) return 255;
    if (!ok_status(*r)) return failed(s3_error(*r, "PutObject"));
    out << "upload: " << source << " to " << shown << "\n";
    return 0;
  }
  auto created = s3.send("POST", target + "?uploads");
  if (!created) return 255;
  if (!ok_status(*created)) return failed(s3_error(*created, "CreateMultipartUpload"));
  auto doc = xml::parse(created->body);
  std::string upload_id = doc.ok() ? doc->child_text("UploadId") : "";
  if (upload_id.empty()) return failed("the server answered CreateMultipartUpload without an id");
  const std::string upload_query = "uploadId=" + encode(upload_id, false);
  std::string complete = "<CompleteMultipartUpload>";
  auto abort = [&](const std::string& why) {
    s3.send("DELETE", target + "?" + upload_query);
    return failed(why);
  };
  for (int number = 1;; ++number) {
    auto r = s3.send("PUT", target + "?partNumber=" + std::to_string(number) + "&" + upload_query,
                     std::move(part));
    if (!r) {
      abort("(no answer to UploadPart)");
      return 255;
    }
    if (!ok_status(*r)) return abort(s3_error(*r, "UploadPart"));
    complete += "<Part><PartNumber>" + std::to_string(number) + "</PartNumber>" +
                xml::element("ETag", r->header("ETag").value_or("")) + "</Part>";
    if (in.eof()) break;
    if (!read_part(in, part)) return abort("cannot read " + source);
    if (part.empty()) break;
  }
  complete += "</CompleteMultipartUpload>";
  auto r = s3.send("POST", target + "?" + upload_query, complete);
  if (!r) return 255;
  // S3 may answer 200 with an <Error> body when completing fails late.
  auto body = xml::parse(r->body);
  if (!ok_status(*r) || (body.ok() && body->name == "Error"))
    return abort(s3_error(*r, "CompleteMultipartUpload"));
  out << "upload: " << source << " to " << shown << "\n";
  return 0;
}

// Downloads into `sink` range by range.
int download(S3Client& s3, const S3Url& source, std::ostream& sink, const std::string& dest_shown,
             std::ostream& err) {
  const std::string shown = "s3://" + source.bucket + "/" + source.key;
  const std::string target = object_target(source.bucket, source.key);
  uint64_t offset = 0;
  for (;;) {
    std::string range =
        "bytes=" + std::to_string(offset) + "-" + std::to_string(offset + kPartSize - 1);
    auto r = s3.send("GET", target, "", {{"Range", range}});
    if (!r) return 255;
    if (r->status == 416 && offset == 0) r = s3.send("GET", target);  // an empty object
    if (!r) return 255;
    if (!ok_status(*r)) {
      err << "download failed: " << shown << " to " << dest_shown << " "
          << s3_error(*r, "GetObject") << "\n";
      return 1;
    }
    sink.write(r->body.data(), static_cast<std::streamsize>(r->body.size()));
    if (!sink) {
      err << "download failed: " << shown << " to " << dest_shown << " cannot write\n";
      return 1;
    }
    offset += r->body.size();
    // A 200 is the whole object; a 206 says how big it is in Content-Range.
    if (r->status != 206) return 0;
    std::string content_range = r->header("Content-Range").value_or("");
    size_t slash = content_range.rfind('/');
    if (slash == std::string::npos) return 0;
    uint64_t total = std::strtoull(content_range.c_str() + slash + 1, nullptr, 10);
    if (offset >= total || r->body.empty()) return 0;
  }
}

int make_bucket(S3Client& s3, const std::string& url, std::ostream& out, std::ostream& err) {
  auto where = parse_s3_url(url);
  if (!where || !where->key.empty()) {
    err << "stageline s3 mb: expected s3://BUCKET, got " << url << "\n";
    return 2;
  }
  auto r = s3.send("PUT", object_target(where->bucket, ""));
  if (!r) return 255;
  if (!ok_status(*r)) {
    err << "make_bucket failed: s3://" << where->bucket << " " << s3_error(*r, "CreateBucket")
        << "\n";
    return 1;
  }
  out << "make_bucket: " << where->bucket << "\n";
  return 0;
}

int list(S3Client& s3, const std::vector<std::string>& words, bool recursive, std::ostream& out,
         std::ostream& err) {
  if (words.size() == 1) {
    auto r = s3.send("GET", "/");
    if (!r) return 255;
    auto doc = xml::parse(r->body);
    if (!ok_status(*r) || !doc.ok()) {
      err << s3_error(*r, "ListBuckets") << "\n";
      return 1;
    }
    if (const xml::Node* buckets = doc->child("Buckets"))
      for (const xml::Node* b : buckets->all("Bucket"))
        out << ls_time(b->child_text("CreationDate")) << " " << b->child_text("Name") << "\n";
    return 0;
  }
  auto where = parse_s3_url(words[1]);
  if (!where) {
    err << "stageline s3 ls: expected s3://BUCKET[/PREFIX], got " << words[1] << "\n";
    return 2;
  }
  // Names are shown relative to the prefix's last '/', as aws s3 ls does.
  size_t slash = where->key.rfind('/');
  size_t strip = recursive || slash == std::string::npos ? 0 : slash + 1;
  std::string token;
  for (;;) {
    std::string query = "?list-type=2&prefix=" + encode(where->key, false);
    if (!recursive) query += "&delimiter=%2F";
    if (!token.empty()) query += "&continuation-token=" + encode(token, false);
    auto r = s3.send("GET", object_target(where->bucket, "") + query);
    if (!r) return 255;
    auto doc = xml::parse(r->body);
    if (!ok_status(*r) || !doc.ok()) {
      err << s3_error(*r, "ListObjectsV2") << "\n";
      return 1;
    }
    for (const xml::Node* p : doc->all("CommonPrefixes"))
      out << std::string(27, ' ') << "PRE " << p->child_text("Prefix").substr(strip) << "\n";
    for (const xml::Node* o : doc->all("Contents")) {
      char size[16];
      std::snprintf(size, sizeof size, "%10s", o->child_text("Size").c_str());
      std::string key = o->child_text("Key");
      out << ls_time(o->child_text("LastModified")) << " " << size << " "
          << (recursive ? key : key.substr(std::min(strip, key.size()))) << "\n";
    }
    token = doc->child_text("NextContinuationToken");
    if (doc->child_text("IsTruncated") != "true" || token.empty()) return 0;
  }
}

int copy(S3Client& s3, std::string source, std::string dest, std::istream& in, std::ostream& out,
         std::ostream& err) {
  auto from = parse_s3_url(source);
  auto to = parse_s3_url(dest);
  if (!from && !to) {
    err << "stageline s3 cp: one of SOURCE and DEST must be an s3:// URL\n";
    return 2;
  }
  if (from && from->key.empty()) {
    err << "stageline s3 cp: " << source << " names a bucket, not an object\n";
    return 2;
  }
  // A destination ending in '/' (or a bare bucket) takes the source's name.
  auto base_name = [](const std::string& path) {
    size_t slash = path.find_last_of('/');
    return slash == std::string::npos ? path : path.substr(slash + 1);
  };
  if (to && (to->key.empty() || to->key.back() == '/')) {
    if (source == "-") {
      err << "stageline s3 cp: from stdin the destination needs a key\n";
      return 2;
    }
    to->key += base_name(from ? from->key : source);
  }
  if (from && to) {
    std::string copy_source = "/" + from->bucket + "/" + encode(from->key, true);
    auto r = s3.send("PUT", object_target(to->bucket, to->key), "",
                     {{"x-amz-copy-source", copy_source}});
    if (!r) return 255;
    auto body = xml::parse(r->body);
    if (!ok_status(*r) || (body.ok() && body->name == "Error")) {
      err << "copy failed: " << source << " to s3://" << to->bucket << "/" << to->key << " "
          << s3_error(*r, "CopyObject") << "\n";
      return 1;
    }
    out << "copy: " << source << " to s3://" << to->bucket << "/" << to->key << "\n";
    return 0;
  }
  if (to) {
    if (source == "-") return upload(s3, in, source, *to, out, err);
    std::ifstream file(source, std::ios::binary);
    if (!file || fs::is_directory(source)) {
      err << "stageline s3 cp: cannot read " << source
          << (fs::is_directory(source) ? " (a directory; --recursive is not supported)" : "")
          << "\n";
      return 1;
    }
    return upload(s3, file, source, *to, out, err);
  }
  if (dest == "-") return download(s3, *from, out, dest, err);
  std::error_code ec;
  if (dest.back() == '/' || fs::is_directory(dest, ec))
    dest = (fs::path(dest) / base_name(from->key)).string();
  // Written beside the destination and renamed, so a failed download leaves
  // no half file under the destination's name.
  const std::string partial = dest + ".stageline-partial";
  int rc;
  {
    std::ofstream file(partial, std::ios::binary | std::ios::trunc);
    if (!file) {
      err << "download failed: " << source << " to " << dest << " cannot create " << partial
          << "\n";
      return 1;
    }
    rc = download(s3, *from, file, dest, err);
    file.close();
    if (rc == 0 && !file) {
      err << "download failed: " << source << " to " << dest << " cannot write\n";
      rc = 1;
    }
  }
  if (rc == 0) fs::rename(partial, dest, ec);
  if (rc != 0 || ec) {
    fs::remove(partial, ec);
    if (rc == 0) {
      err << "download failed: " << source << " to " << dest << " cannot rename\n";
      return 1;
    }
    return rc;
  }
  out << "download: " << source << " to " << dest << "\n";
  return 0;
}

// Runs the lifecycle rules through the server's /lifecycle extension.
int expire(ApiClient& client, const std::string& at, bool dry_run, std::ostream& out,
           std::ostream& err) {
  auto seconds = parse_expire_time(at, std::chrono::system_clock::now());
  if (!seconds) {
    err << "stageline s3 expire: --at takes +DAYSd or YYYY-MM-DD[THH:MM:SSZ], not '" << at << "'\n";
    return kExitUsage;
  }
  std::string target = "/lifecycle?at=" + std::to_string(*seconds);
  if (dry_run) target += "&dry-run=true";
  auto r = client.request("POST", target);
  if (!r.ok()) {
    err << "stageline s3 expire: " << r.status().message() << "\n";
    return kExitServiceError;
  }
  boost::system::error_code ec;
  json::value report = json::parse(r->body, ec);
  if (ec || r->status != 200 || !report.is_object()) {
    err << "stageline s3 expire: the server answered " << r->status << ": " << r->body << "\n";
    return 1;
  }
  for (const char* list : {"removed", "kept", "notes"}) {
    const json::value* lines = report.as_object().if_contains(list);
    if (!lines || !lines->is_array()) continue;
    for (const auto& line : lines->as_array())
      if (line.is_string())
        out << (dry_run && std::string_view(list) == "removed" ? "would have " : "")
            << line.as_string().c_str() << "\n";
  }
  return 0;
}

}  // namespace

std::optional<int64_t> parse_expire_time(std::string_view at,
                                         std::chrono::system_clock::time_point now) {
  const int64_t now_s =
      std::chrono::duration_cast<std::chrono::seconds>(now.time_since_epoch()).count();
  if (at.empty()) return now_s;
  if (at.front() == '+' && at.size() >= 3 && at.back() == 'd') {
    int64_t days = 0;
    auto digits = at.substr(1, at.size() - 2);
    auto [end, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), days);
    if (ec != std::errc() || end != digits.data() + digits.size() || days > 36500)
      return std::nullopt;
    return now_s + days * 86400;
  }
  std::tm tm{};
  std::string text(at);
  const char* end = strptime(text.c_str(), "%Y-%m-%dT%H:%M:%SZ", &tm);
  if (!end || *end) {
    tm = {};
    end = strptime(text.c_str(), "%Y-%m-%d", &tm);
  }
  if (!end || *end) return std::nullopt;
  return static_cast<int64_t>(timegm(&tm));
}

std::optional<S3Url> parse_s3_url(std::string_view url) {
  constexpr std::string_view kScheme = "s3://";
  if (!url.starts_with(kScheme)) return std::nullopt;
  url.remove_prefix(kScheme.size());
  size_t slash = url.find('/');
  S3Url out{std::string(url.substr(0, slash)), ""};
  if (slash != std::string_view::npos) out.key = std::string(url.substr(slash + 1));
  if (out.bucket.empty()) return std::nullopt;
  return out;
}

std::string object_target(std::string_view bucket, std::string_view key) {
  return "/" + encode(bucket, false) + (key.empty() ? "" : "/" + encode(key, true));
}

int run_s3(const std::vector<std::string>& args, const ClientEnvironment& env, std::istream& in,
           std::ostream& out, std::ostream& err) {
  static const VerbSpec spec{"s3",
                             "",
                             "",
                             {{"recursive", "recursive", ParamKind::kBoolean, false},
                              {"dry-run", "dryRun", ParamKind::kBoolean, false},
                              {"at", "at", ParamKind::kString, false}},
                             std::nullopt,
                             false};
  std::vector<std::string> words, flags;
  for (size_t i = 0; i < args.size(); ++i) {
    const std::string& a = args[i];
    if (a == "-h" || a == "help") {
      out << usage();
      return kExitOk;
    }
    if (!a.starts_with("--")) {
      words.push_back(a);
      continue;
    }
    flags.push_back(a);
    bool takes_value =
        a != "--recursive" && a != "--dry-run" && a != "--help" && a.find('=') == std::string::npos;
    if (takes_value && i + 1 < args.size()) flags.push_back(args[++i]);
  }
  auto request = parse_verb_args(spec, flags);
  if (!request.ok()) {
    err << "stageline s3: error: " << request.status().message() << "\n" << usage();
    return kExitUsage;
  }
  if (request->help) {
    out << usage();
    return kExitOk;
  }
  const std::string verb = words.empty() ? "" : words[0];
  bool fits = (verb == "mb" && words.size() == 2) || (verb == "ls" && words.size() <= 2) ||
              (verb == "cp" && words.size() == 3) || (verb == "expire" && words.size() == 1);
  if (!fits) {
    err << "stageline s3: error: "
        << (verb.empty() ? std::string("a command is required")
                         : "unexpected arguments for '" + verb + "'")
        << "\n"
        << usage();
    return kExitUsage;
  }
  const json::value* recursive_flag = request->input.if_contains("recursive");
  bool recursive = recursive_flag && recursive_flag->is_bool() && recursive_flag->as_bool();

  api::client::LocateOptions where = request->where;
  where.default_data_dir = env.default_data_dir;
  where.shared_credentials_file = env.shared_credentials_file;
  auto location = api::client::locate_server(where);
  if (!location.ok()) {
    err << "stageline s3: " << location.status().message() << "\n";
    return kExitServiceError;
  }
  auto flag = [&request](const char* member) -> const json::value* {
    return request->input.if_contains(member);
  };
  if (verb == "expire") {
    auto client = ApiClient::create(*location);  // a Stageline extension, signed as codepipeline
    if (!client.ok()) {
      err << "stageline s3: " << client.status().message() << "\n";
      return kExitServiceError;
    }
    const json::value* at = flag("at");
    const json::value* dry = flag("dryRun");
    return expire(*client, at && at->is_string() ? std::string(at->as_string()) : "",
                  dry && dry->is_bool() && dry->as_bool(), out, err);
  }
  api::client::ClientOptions options;
  options.service = "s3";
  options.timeout = std::chrono::minutes(5);
  auto client = ApiClient::create(*location, options);
  if (!client.ok()) {
    err << "stageline s3: " << client.status().message() << "\n";
    return kExitServiceError;
  }
  S3Client s3(std::move(*client), err);
  if (verb == "mb") return make_bucket(s3, words[1], out, err);
  if (verb == "ls") return list(s3, words, recursive, out, err);
  return copy(s3, words[1], words[2], in, out, err);
}

}  // namespace stageline::cli
