#include "builds/artifact_files.h"

#include <algorithm>
#include <system_error>
#include <vector>

#include "artifacts/glob.h"

namespace stageline::builds {

namespace {

namespace fs = std::filesystem;

struct Globs {
  std::vector<artifacts::Glob> list;
  // Whether `rel` (a file) or one of its parent directories is selected.
  bool selects(const std::string& rel) const {
    for (const auto& g : list) {
      if (!g.selects_directories()) {
        if (g.matches_file(rel)) return true;
        continue;
      }
      for (size_t slash = rel.find('/'); slash != std::string::npos;
           slash = rel.find('/', slash + 1)) {
        if (g.matches_directory(rel.substr(0, slash))) return true;
      }
    }
    return false;
  }
};

Result<Globs> parse_globs(const std::vector<std::string>& patterns, const std::string& what) {
  Globs out;
  for (const auto& p : patterns) {
    auto g = artifacts::Glob::parse(p);
    if (!g.ok()) return g.status().with_context(what + " " + p);
    out.list.push_back(std::move(*g));
  }
  return out;
}

bool has_glob_chars(const std::string& s) { return s.find_first_of("*?[{") != std::string::npos; }

// The base directory: source_dir/base, or the first directory (in name
// order) whose path relative to source_dir matches base as a glob.
Result<fs::path> base_directory(const std::string& base, const fs::path& source_dir) {
  std::string b = base;
  while (b.starts_with("./")) b = b.substr(2);
  while (!b.empty() && b.back() == '/') b.pop_back();
  if (b.empty()) return source_dir;
  if (!has_glob_chars(b)) {
    std::error_code ec;
    if (!fs::is_directory(source_dir / b, ec))
      return Status::invalid("base-directory " + base + " is not a directory of the source");
    return source_dir / b;
  }
  auto glob = artifacts::Glob::parse(b + "/");
  if (!glob.ok()) return glob.status().with_context("base-directory");
  std::vector<std::string> matches;
  std::error_code ec;
  for (auto it = fs::recursive_directory_iterator(source_dir, ec);
       !ec && it != fs::recursive_directory_iterator(); it.increment(ec)) {
    if (!it->is_directory(ec) || it->is_symlink(ec)) continue;
    const std::string rel = fs::relative(it->path(), source_dir, ec).generic_string();
    if (glob->matches_directory(rel)) matches.push_back(rel);
  }
  if (ec) return Status::io("read " + source_dir.string() + ": " + ec.message());
  if (matches.empty())
    return Status::invalid("base-directory " + base + " matches no directory of the source");
  std::sort(matches.begin(), matches.end());
  return source_dir / matches.front();
}

}  // namespace

Result<size_t> stage_artifact_files(const ArtifactSpec& spec, const fs::path& source_dir,
                                    const fs::path& stage_dir) {
  auto files = parse_globs(spec.files, "files");
  if (!files.ok()) return files.status();
  auto excludes = parse_globs(spec.exclude_paths, "exclude-paths");
  if (!excludes.ok()) return excludes.status();
  auto base = base_directory(spec.base_directory, source_dir);
  if (!base.ok()) return base.status();

  std::vector<std::pair<std::string, fs::path>> selected;  // (relative path, file)
  std::error_code ec;
  for (auto it = fs::recursive_directory_iterator(*base, ec);
       !ec && it != fs::recursive_directory_iterator(); it.increment(ec)) {
    const bool link = it->is_symlink(ec);
    if (!link && !it->is_regular_file(ec)) continue;
    const std::string rel = fs::relative(it->path(), *base, ec).generic_string();
    if (ec) break;
    if (!files->selects(rel) || excludes->selects(rel)) continue;
    selected.emplace_back(rel, it->path());
  }
  if (ec) return Status::io("read " + base->string() + ": " + ec.message());
  if (selected.empty()) return Status::not_found("no matching artifact paths found");
  std::sort(selected.begin(), selected.end());

  fs::create_directories(stage_dir, ec);
  if (ec) return Status::io("create " + stage_dir.string() + ": " + ec.message());
  for (const auto& [rel, from] : selected) {
    const fs::path to = stage_dir / (spec.discard_paths ? from.filename() : fs::path(rel));
    fs::create_directories(to.parent_path(), ec);
    if (ec) return Status::io("create " + to.parent_path().string() + ": " + ec.message());
    fs::remove(to, ec);
    if (spec.enable_symlinks && fs::is_symlink(from, ec)) {
      fs::copy_symlink(from, to, ec);
    } else {
      fs::copy_file(from, to, fs::copy_options::overwrite_existing, ec);
    }
    if (ec) return Status::io("copy " + rel + " into the artifact: " + ec.message());
  }
  return selected.size();
}

}  // namespace stageline::builds
