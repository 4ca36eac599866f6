// White-box access to a Collector for tests (fault injection between store statements).
#pragma once

#include "uplink/collector/collector.h"

#include "collector/db.h"

namespace uplink::internal {

struct CollectorTestPeer {
  static void SetStatementHook(Collector& collector, collector_internal::StatementHook hook);
};

}  // namespace uplink::internal
