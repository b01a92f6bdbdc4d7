"""The gather-ahead comparison of bench/paired_fit.py, under the name RESULTS.md's earlier
figures give: python bench/gather_ahead.py BATCH {f32,f64} PAIRS."""
import sys

import paired_fit

if __name__ == "__main__":
    sys.argv = sys.argv[:4] + ["gather"]
    paired_fit.main()
