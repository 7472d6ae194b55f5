#include "api/wire/pagination.h"

#include <gtest/gtest.h>

#include <boost/json.hpp>

#include "api/wire/embedded.h"

namespace stageline::wire {
namespace {

namespace json = boost::json;

const std::string kKey = "0123456789abcdef0123456789abcdef";

TEST(PageTokens, ATokenRedeemsToItsPosition) {
  const PageTokens tokens(kKey);
  const json::value position = json::parse(R"({"after":"pipeline-042","n":42})");
  const std::string token = tokens.issue("ListPipelines", "", position);
  EXPECT_LE(token.size(), 2048u);
  EXPECT_EQ(
      token.find_first_not_of("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_."),
      std::string::npos);
  Outcome<json::value> back = tokens.redeem("ListPipelines", "", token);
  ASSERT_TRUE(back.ok()) << back.error().detail;
  EXPECT_EQ(*back, position);
}

TEST(PageTokens, RefusesTamperedForeignAndMisdirectedTokens) {
  const PageTokens tokens(kKey);
  const std::string token = tokens.issue("ListPipelineExecutions", "pipeline-a", json::value(7));
  auto refused = [&](std::string_view op, std::string_view scope, std::string_view t) {
    Outcome<json::value> r = tokens.redeem(op, scope, t);
    if (r.ok()) return false;
    EXPECT_EQ(r.error().type, "InvalidNextTokenException");
    EXPECT_EQ(r.error().http_status, 400);
    return true;
  };
  EXPECT_TRUE(refused("ListPipelineExecutions", "pipeline-b", token));
  EXPECT_TRUE(refused("ListActionExecutions", "pipeline-a", token));
  EXPECT_TRUE(refused("ListPipelineExecutions", "pipeline-a",
                      PageTokens("another-key-of-32-bytes-xxxxxxxxx")
                          .issue("ListPipelineExecutions", "pipeline-a", json::value(7))));
  std::string flipped = token;
  flipped[3] = flipped[3] == 'A' ? 'B' : 'A';
  EXPECT_TRUE(refused("ListPipelineExecutions", "pipeline-a", flipped));
  for (std::string_view garbage : {"", ".", "abc", "abc.def", "!!!.???", "a.b.c"}) {
    EXPECT_TRUE(refused("ListPipelineExecutions", "pipeline-a", garbage)) << garbage;
  }
  EXPECT_TRUE(refused("ListPipelineExecutions", "pipeline-a", std::string(3000, 'A')));
}

TEST(PageTokens, Base64UrlRoundTripsEveryByte) {
  std::string all;
  for (int i = 0; i < 256; ++i) all.push_back(static_cast<char>(i));
  for (size_t n = 0; n < 8; ++n) {
    std::string back;
    ASSERT_TRUE(base64url_decode(base64url_encode(all.substr(0, n)), &back));
    EXPECT_EQ(back, all.substr(0, n));
  }
  std::string back;
  ASSERT_TRUE(base64url_decode(base64url_encode(all), &back));
  EXPECT_EQ(back, all);
  EXPECT_FALSE(base64url_decode("A", &back));
  EXPECT_FALSE(base64url_decode("AB", &back));  // non-zero leftover bits: not canonical
}

TEST(PageSize, ComesFromTheInputClampedToTheModel) {
  const ServiceModel& model = codepipeline_model();
  const Operation& list = *model.find_operation("ListPipelines");
  EXPECT_EQ(page_size(list, json::object(), "maxResults", 100), 100);
  EXPECT_EQ(page_size(list, json::object{{"maxResults", 5}}, "maxResults", 100), 5);
  EXPECT_EQ(page_size(list, json::object(), "maxResults", 5000), 1000);
  const Operation& webhooks = *model.find_operation("ListWebhooks");
  EXPECT_EQ(page_size(webhooks, json::object{{"MaxResults", 3}}, "MaxResults", 100), 3);
}

}  // namespace
}  // namespace stageline::wire
