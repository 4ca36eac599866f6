// Placeholder.
namespace {}
