// api/sns/query: the AWS query protocol as SNS speaks it: the request is a
// form (application/x-www-form-urlencoded: Action=CreateTopic&Name=x&
// Version=2010-03-31), lists are "Name.member.N" and maps
// "Name.entry.N.key" / "Name.entry.N.value"; the response is XML in the
// namespace http://sns.amazonaws.com/doc/2010-03-31/. Pure functions;
// thread-safe.
#pragma once

#include <map>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "base/status.h"

namespace stageline::sns {

// The parameters of one request, by name.
using Form = std::map<std::string, std::string>;

// Percent-decodes `s`; '+' is a space (form encoding). A '%' not followed
// by two hex digits is kept as it is.
std::string form_decode(std::string_view s);

// Percent-encodes everything but unreserved characters (A-Z a-z 0-9 - _ . ~),
// for the query strings of SubscribeURL and UnsubscribeURL.
std::string form_encode(std::string_view s);

// Parses "a=1&b=2" into `form`. A pair without '=' has an empty value.
// Errors (kInvalidArgument): a parameter given twice, an empty name.
Status parse_form(std::string_view text, Form& form);

// The map "prefix.entry.N.key" / "prefix.entry.N.value" for N = 1, 2, ...
// Errors (kInvalidArgument): an entry with a key and no value or the reverse,
// a key given twice.
Result<std::map<std::string, std::string>> form_map(const Form& form, std::string_view prefix);

// Escapes &, <, >, " and ' for XML text.
std::string xml_escape(std::string_view text);

// "<name>escaped text</name>".
std::string xml_element(std::string_view name, std::string_view text);

// The XML namespace of SNS responses.
inline constexpr std::string_view kXmlns = "http://sns.amazonaws.com/doc/2010-03-31/";

// A successful response: <ActionResponse xmlns=...><ActionResult>result
// </ActionResult><ResponseMetadata><RequestId>id</RequestId>
// </ResponseMetadata></ActionResponse>. `result_xml` is already XML; an
// action with no output passes nullptr and gets no Result element.
std::string response_xml(std::string_view action, const std::string* result_xml,
                         std::string_view request_id);

// An error response: <ErrorResponse xmlns=...><Error><Type>Sender|Receiver
// </Type><Code>code</Code><Message>message</Message></Error><RequestId>id
// </RequestId></ErrorResponse>; Receiver for a 5xx status.
std::string error_xml(int http_status, std::string_view code, std::string_view message,
                      std::string_view request_id);

// <entry><key>k</key><value>v</value></entry>... for a map, in key order.
std::string attributes_xml(const std::map<std::string, std::string>& attributes);

}  // namespace stageline::sns
