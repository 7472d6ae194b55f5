#include "api/sns/query.h"

#include <gtest/gtest.h>

namespace stageline::sns {
namespace {

TEST(SnsQuery, FormDecodingTurnsPlusIntoSpaceAndPercentEscapesIntoBytes) {
  EXPECT_EQ(form_decode("a+b%20c%3Ad%2f"), "a b c:d/");
  EXPECT_EQ(form_decode("100%"), "100%");  // a stray % stays
  EXPECT_EQ(form_decode("%zz"), "%zz");    // not hex
  EXPECT_EQ(form_encode("a b:c/~"), "a%20b%3Ac%2F~");
  EXPECT_EQ(form_decode(form_encode("arn:aws:sns:us-east-1:1:t x&y=z")),
            "arn:aws:sns:us-east-1:1:t x&y=z");
}

TEST(SnsQuery, AFormAsTheAwsCliSendsItParsesIntoNamedParameters) {
  Form form;
  ASSERT_TRUE(
      parse_form("Action=CreateTopic&Name=builds&Version=2010-03-31&Empty=&Bare", form).ok());
  EXPECT_EQ(form.at("Action"), "CreateTopic");
  EXPECT_EQ(form.at("Name"), "builds");
  EXPECT_EQ(form.at("Version"), "2010-03-31");
  EXPECT_EQ(form.at("Empty"), "");
  EXPECT_EQ(form.at("Bare"), "");
}

TEST(SnsQuery, AParameterGivenTwiceIsRefused) {
  Form form;
  Status s = parse_form("Name=a&Name=b", form);
  EXPECT_EQ(s.code(), StatusCode::kInvalidArgument);
  EXPECT_NE(s.message().find("'Name' is given more than once"), std::string::npos) << s.message();
  Form other;
  EXPECT_FALSE(parse_form("=x", other).ok());
}

TEST(SnsQuery, MapEntriesAreCollectedByIndexWhateverTheirOrder) {
  Form form;
  ASSERT_TRUE(parse_form("Attributes.entry.2.value=b&Attributes.entry.1.key=DisplayName&"
                         "Attributes.entry.2.key=Policy&Attributes.entry.1.value=Builds&"
                         "Other.entry.1.key=x",
                         form)
                  .ok());
  auto m = form_map(form, "Attributes");
  ASSERT_TRUE(m.ok()) << m.status().message();
  EXPECT_EQ(m->size(), 2u);
  EXPECT_EQ(m->at("DisplayName"), "Builds");
  EXPECT_EQ(m->at("Policy"), "b");
}

TEST(SnsQuery, AMapEntryWithoutItsValueOrWithABadIndexIsRefused) {
  Form a{{"Attributes.entry.1.key", "k"}};
  EXPECT_NE(form_map(a, "Attributes").status().message().find("has a key and no value"),
            std::string::npos);
  Form b{{"Attributes.entry.x.key", "k"}};
  EXPECT_FALSE(form_map(b, "Attributes").ok());
  Form c{{"Attributes.entry.1.key", "k"},
         {"Attributes.entry.1.value", "1"},
         {"Attributes.entry.2.key", "k"},
         {"Attributes.entry.2.value", "2"}};
  EXPECT_NE(form_map(c, "Attributes").status().message().find("twice"), std::string::npos);
}

TEST(SnsQuery, ResponsesAreWrappedInActionResponseWithTheRequestId) {
  std::string result = xml_element("TopicArn", "arn:aws:sns:us-east-1:1:t");
  EXPECT_EQ(response_xml("CreateTopic", &result, "rid"),
            "<CreateTopicResponse xmlns=\"http://sns.amazonaws.com/doc/2010-03-31/\">"
            "<CreateTopicResult><TopicArn>arn:aws:sns:us-east-1:1:t</TopicArn></CreateTopicResult>"
            "<ResponseMetadata><RequestId>rid</RequestId></ResponseMetadata>"
            "</CreateTopicResponse>");
  EXPECT_EQ(response_xml("DeleteTopic", nullptr, "r2"),
            "<DeleteTopicResponse xmlns=\"http://sns.amazonaws.com/doc/2010-03-31/\">"
            "<ResponseMetadata><RequestId>r2</RequestId></ResponseMetadata>"
            "</DeleteTopicResponse>");
}

TEST(SnsQuery, ErrorsNameTheSenderOrTheReceiverAndEscapeTheirText) {
  EXPECT_EQ(error_xml(404, "NotFound", "Topic <x> & \"y\"", "rid"),
            "<ErrorResponse xmlns=\"http://sns.amazonaws.com/doc/2010-03-31/\"><Error>"
            "<Type>Sender</Type><Code>NotFound</Code>"
            "<Message>Topic &lt;x&gt; &amp; &quot;y&quot;</Message></Error>"
            "<RequestId>rid</RequestId></ErrorResponse>");
  EXPECT_NE(error_xml(500, "InternalError", "m", "r").find("<Type>Receiver</Type>"),
            std::string::npos);
}

TEST(SnsQuery, AttributesAreEntriesOfKeyAndValue) {
  EXPECT_EQ(attributes_xml({{"b", "2"}, {"a", "<1>"}}),
            "<entry><key>a</key><value>&lt;1&gt;</value></entry>"
            "<entry><key>b</key><value>2</value></entry>");
}

}  // namespace
}  // namespace stageline::sns
