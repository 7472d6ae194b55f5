#!/usr/bin/env bash
# End-to-end: CodeCommit repositories hosted by `stageline server`, driven by
# the real aws CLI (aws codecommit ...) and the real git over HTTP, with the
# credentials file the server writes on first start.
# usage: tests/e2e/codecommit.sh path/to/stageline
set -uo pipefail
BIN=$(realpath "$1")
cd "$(dirname "$0")/../.."
. tests/e2e/lib.sh

start_server

aws_env
# git without the user's configuration: a fresh HOME, no system config.
git_env
cc() { aws codecommit "$@" --endpoint-url "http://127.0.0.1:$PORT" --region us-east-1; }
URL="http://127.0.0.1:$PORT/v1/repos/demo"
KEY_ID=$(awk '/aws_access_key_id/ {print $3}' "$TMP/data/credentials")
# git asks `stageline repo credential` for the user name and password.
HELPER="!'$BIN' repo credential --data-dir '$TMP/data'"
git_auth() { git -c credential.helper= -c "credential.helper=$HELPER" "$@"; }

# 1. Create, get, list with AWS's shapes; a taken name and a bad name fail as on AWS.
cc create-repository --repository-name demo --repository-description "The demo" \
  --tags team=web >"$TMP/out" 2>&1
[ "$(json 'd["repositoryMetadata"]["cloneUrlHttp"]')" = "$URL" ] &&
  [ "$(json 'd["repositoryMetadata"]["Arn"]')" = "arn:aws:codecommit:us-east-1:111122223333:demo" ] &&
  [ "$(json 'd["repositoryMetadata"]["cloneUrlSsh"]')" = "$TMP/data/git/codecommit/demo.git" ] &&
  [ "$(json '"defaultBranch" in d["repositoryMetadata"]')" = False ] && ok || bad "create-repository"
repo_id=$(json 'd["repositoryMetadata"]["repositoryId"]')
cc create-repository --repository-name demo >"$TMP/out" 2>&1
grep -q "RepositoryNameExistsException" "$TMP/out" && ok || bad "a taken name is RepositoryNameExistsException"
cc create-repository --repository-name "bad name!" >"$TMP/out" 2>&1
grep -q "InvalidRepositoryNameException" "$TMP/out" && grep -q "The repository name is not valid" "$TMP/out" &&
  ok || bad "a name with bad characters is InvalidRepositoryNameException"
cc get-repository --repository-name demo >"$TMP/out" 2>&1
[ "$(json 'd["repositoryMetadata"]["repositoryId"]')" = "$repo_id" ] &&
  [ "$(json 'd["repositoryMetadata"]["repositoryDescription"]')" = "The demo" ] && ok || bad "get-repository"
cc get-repository --repository-name nope >"$TMP/out" 2>&1
grep -q "RepositoryDoesNotExistException" "$TMP/out" && ok || bad "get-repository of a missing one"
cc list-repositories >"$TMP/out" 2>&1
[ "$(json '[r["repositoryName"] for r in d["repositories"]]')" = "['demo']" ] && ok || bad "list-repositories"

# 2. git clone of the empty repository over HTTP with the server's key.
git_auth clone -q "$URL" "$TMP/work" >"$TMP/out" 2>&1 && [ -d "$TMP/work/.git" ] && ok ||
  bad "git clone of the empty repository"

# 3. Commit and push to main; the server learns (repository, branch, commit).
(cd "$TMP/work" && git checkout -q -b main && printf 'hello\n' >README.md && mkdir -p src &&
  printf '#!/bin/sh\necho hi\n' >src/run.sh && chmod +x src/run.sh && git add -A &&
  git commit -q -m "First commit") >"$TMP/out" 2>&1
commit=$(git -C "$TMP/work" rev-parse HEAD)
git_auth -C "$TMP/work" push -q origin main >"$TMP/out" 2>&1 && ok || bad "git push to main over HTTP"
# The server's push hook ran: the first branch pushed to a repository becomes
# its default branch, whatever HEAD named before (main).
cc create-repository --repository-name side >"$TMP/out" 2>&1
git_auth -C "$TMP/work" push -q "http://127.0.0.1:$PORT/v1/repos/side" main:dev >"$TMP/out" 2>&1 &&
  cc get-repository --repository-name side >"$TMP/out" 2>&1 &&
  [ "$(json 'd["repositoryMetadata"]["defaultBranch"]')" = dev ] && ok ||
  bad "the first branch pushed over HTTP becomes the default"

# 4. The API reads what was pushed.
cc get-branch --repository-name demo --branch-name main >"$TMP/out" 2>&1
[ "$(json 'd["branch"]["commitId"]')" = "$commit" ] && ok || bad "get-branch shows the pushed commit"
cc get-branch --repository-name demo --branch-name nope >"$TMP/out" 2>&1
grep -q "BranchDoesNotExistException" "$TMP/out" && ok || bad "get-branch of a missing branch"
cc get-commit --repository-name demo --commit-id "$commit" >"$TMP/out" 2>&1
[ "$(json 'd["commit"]["message"]')" = "First commit" ] &&
  [ "$(json 'd["commit"]["author"]["email"]')" = "ada@example.com" ] && ok || bad "get-commit"
cc get-repository --repository-name demo >"$TMP/out" 2>&1
[ "$(json 'd["repositoryMetadata"]["defaultBranch"]')" = main ] && ok || bad "the first branch pushed is the default"
cc create-branch --repository-name demo --branch-name release --commit-id "$commit" >"$TMP/out" 2>&1 &&
  ok || bad "create-branch"
cc create-branch --repository-name demo --branch-name release --commit-id "$commit" >"$TMP/out" 2>&1
grep -q "BranchNameExistsException" "$TMP/out" && ok || bad "create-branch of an existing branch"
cc list-branches --repository-name demo >"$TMP/out" 2>&1
[ "$(json 'sorted(d["branches"])')" = "['main', 'release']" ] && ok || bad "list-branches"
cc get-file --repository-name demo --file-path src/run.sh >"$TMP/out" 2>&1
[ "$(json 'd["fileMode"]')" = EXECUTABLE ] && [ "$(json 'd["commitId"]')" = "$commit" ] && ok || bad "get-file"

# 5. cloneUrlSsh is the bare repository's path, which git clones as is.
git clone -q "$TMP/data/git/codecommit/demo.git" "$TMP/bypath" >"$TMP/out" 2>&1 &&
  [ "$(cat "$TMP/bypath/README.md")" = hello ] && ok || bad "git clone of cloneUrlSsh (a path)"

# 6. Pushes of 4 MiB and 12 MiB of incompressible data (under and over the server's 6 MiB
# in-memory body limit).
head -c 4194304 /dev/urandom >"$TMP/work/blob.bin"
(cd "$TMP/work" && git add blob.bin && git commit -q -m "Big file") >"$TMP/out" 2>&1
git_auth -C "$TMP/work" push -q origin main >"$TMP/out" 2>&1 &&
  cc get-branch --repository-name demo --branch-name main >"$TMP/out" 2>&1 &&
  [ "$(json 'd["branch"]["commitId"]')" = "$(git -C "$TMP/work" rev-parse HEAD)" ] && ok ||
  bad "a 4 MiB push"
# Above the server's in-memory body limit: the push is spooled to a file for git.
head -c 12582912 /dev/urandom >"$TMP/work/bigger.bin"
(cd "$TMP/work" && git add bigger.bin && git commit -q -m "Bigger file") >"$TMP/out" 2>&1
git_auth -C "$TMP/work" push -q origin main >"$TMP/out" 2>&1 &&
  cc get-branch --repository-name demo --branch-name main >"$TMP/out" 2>&1 &&
  [ "$(json 'd["branch"]["commitId"]')" = "$(git -C "$TMP/work" rev-parse HEAD)" ] && ok ||
  bad "a 12 MiB push (spooled)"

# 7. A wrong secret or no credentials are refused by the server, and git says so.
git -c credential.helper= -c "credential.helper=!f() { echo username=$KEY_ID; echo password=wrong; }; f" \
  clone -q "$URL" "$TMP/denied" >"$TMP/out" 2>&1
[ $? -ne 0 ] && grep -q "Authentication failed" "$TMP/out" && ok || bad "a wrong secret is refused"
curl -s -o /dev/null -w "%{http_code}" "$URL/info/refs?service=git-upload-pack" >"$TMP/out"
[ "$(cat "$TMP/out")" = 401 ] && ok || bad "no credentials is 401"

# 8. stageline repo create / list.
"$BIN" repo create tools --description "Tools" --data-dir "$TMP/data" >"$TMP/out" 2>&1 &&
  grep -q "Clone URL: http://127.0.0.1:$PORT/v1/repos/tools" "$TMP/out" &&
  grep -q "git push" "$TMP/out" && ok || bad "stageline repo create"
"$BIN" repo create tools --data-dir "$TMP/data" >"$TMP/out" 2>&1
[ $? -eq 255 ] && grep -q RepositoryNameExistsException "$TMP/out" && ok || bad "stageline repo create of a taken name"
"$BIN" repo list --data-dir "$TMP/data" >"$TMP/out" 2>&1 &&
  [ "$(cut -f1 "$TMP/out" | tr '\n' ' ')" = "demo side tools " ] && ok || bad "stageline repo list"

# 9. Delete returns the id; a second delete returns none; git then gets 404.
cc delete-repository --repository-name demo >"$TMP/out" 2>&1
[ "$(json 'd["repositoryId"]')" = "$repo_id" ] && [ ! -e "$TMP/data/git/codecommit/demo.git" ] && ok ||
  bad "delete-repository"
cc delete-repository --repository-name demo >"$TMP/out" 2>&1
[ $? -eq 0 ] && ! grep -q repositoryId "$TMP/out" && ok || bad "delete-repository of a missing one"
git_auth clone -q "$URL" "$TMP/gone" >"$TMP/out" 2>&1
[ $? -ne 0 ] && grep -q "not found\|404" "$TMP/out" && ok || bad "git clone of a deleted repository"

echo "codecommit e2e: $passes passed, $fails failed"
[ "$fails" -eq 0 ]
