"""Where and when crime concentrates: projection, grids, hot spots, kernel density,
near-repeat (Knox) analysis and forecast accuracy. Every analysis is a pure
function over arrays returning a frozen result that records its parameters."""
