"""fastnn.engine: data adapter, compiled plans and the fit/evaluate/predict loops."""
