#include "api/sigv4/request_file.h"

#include <gtest/gtest.h>

namespace stageline::api::sigv4 {
namespace {

TEST(RequestFile, Base64DecodesWithAndWithoutPadding) {
  EXPECT_EQ(*base64_decode(""), "");
  EXPECT_EQ(*base64_decode("e30="), "{}");
  EXPECT_EQ(*base64_decode("e30"), "{}");
  EXPECT_EQ(*base64_decode("/+8="), "\xff\xef");
  EXPECT_EQ(base64_decode("e3 0=").status().code(), StatusCode::kInvalidArgument);
}

TEST(RequestFile, ReadsACapturedRequest) {
  auto r =
      request_from_json(R"({"method":"POST","target":"/?a=b","headers":[["Host","h"],["X","1"]],)"
                        R"("body_base64":"e30=","extra":1})");
  ASSERT_TRUE(r.ok()) << r.status().message();
  EXPECT_EQ(r->method, "POST");
  EXPECT_EQ(r->target, "/?a=b");
  ASSERT_EQ(r->headers.size(), 2u);
  EXPECT_EQ(r->headers[1].second, "1");
  EXPECT_EQ(r->body, "{}");
}

TEST(RequestFile, NamesWhatIsWrongWithABadFile) {
  EXPECT_NE(request_from_json("{").status().message().find("request JSON"), std::string::npos);
  EXPECT_NE(request_from_json("[]").status().message().find("not an object"), std::string::npos);
  EXPECT_NE(request_from_json(R"({"target":"/","headers":[],"body_base64":""})")
                .status()
                .message()
                .find("'method'"),
            std::string::npos);
  EXPECT_FALSE(
      request_from_json(R"({"method":"GET","target":"/","headers":[["a"]],"body_base64":""})")
          .ok());
  EXPECT_FALSE(
      request_from_json(R"({"method":"GET","target":"/","headers":[],"body_base64":"%"})").ok());
}

}  // namespace
}  // namespace stageline::api::sigv4
