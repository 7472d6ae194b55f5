// Dispatches the requests botocore serialized (botocore_requests.py, run by
// ctest as a fixture): each must route to its operation and validate clean.
#include <gtest/gtest.h>

#include <boost/json.hpp>
#include <cstdlib>
#include <fstream>
#include <set>
#include <string>

#include "api/wire/embedded.h"
#include "api/wire/wire.h"

namespace stageline::wire {
namespace {

namespace json = boost::json;

TEST(Botocore, EveryRequestBotocoreSerializesDispatchesClean) {
  const char* path = std::getenv("WIRE_BOTOCORE_REQUESTS");
  ASSERT_NE(path, nullptr) << "WIRE_BOTOCORE_REQUESTS is not set: run this test through ctest, "
                              "which first runs botocore_requests.py (needs python3 and botocore)";
  std::ifstream in(path);
  ASSERT_TRUE(in) << path << " is missing: botocore_requests.py failed (is botocore installed? "
                  << "python3 -c 'import botocore')";
  const Dispatcher dispatcher(codepipeline_model());
  std::set<std::string> operations;
  std::string line;
  size_t n = 0;
  while (std::getline(in, line)) {
    if (line.empty()) continue;
    ++n;
    const json::object r = json::parse(line).as_object();
    const std::string op(r.at("operation").as_string());
    const std::string target(r.at("target").as_string());
    const std::string type(r.at("content_type").as_string());
    const std::string body(r.at("body").as_string());
    SCOPED_TRACE(op + " " + body);
    Request request;
    request.target = target;
    request.content_type = type;
    request.body = body;
    Outcome<Call> call = dispatcher.dispatch(request);
    ASSERT_TRUE(call.ok()) << call.error().type << ": " << call.error().message << " "
                           << call.error().detail;
    EXPECT_EQ(call->operation->name, op);
    EXPECT_TRUE(call->warnings.empty()) << call->warnings.front();
    operations.insert(op);
  }
  EXPECT_GE(n, 44u);
  EXPECT_EQ(operations.size(), codepipeline_model().operations().size());
}

}  // namespace
}  // namespace stageline::wire
