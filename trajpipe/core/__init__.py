"""What every stage shares, in numpy only: anchor points, frames of reference, time-grid
interpolation, typed results and the JSON-lines schema."""
