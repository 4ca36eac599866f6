// Product parsers: recognise the body of a parsed syslog message (by tag or by format marker)
// and fill SyslogMessage::fields. Not a public API.
#pragma once

#include "sensor/logs/syslog_message.h"

namespace sensor {

// Sets m->format to the product and fills m->fields when a product is recognised; returns
// whether one was. Bounded: each parser makes a fixed number of passes over the message.
bool ParseProduct(SyslogMessage* m);

}  // namespace sensor
