"""The offline extractive answerer's parts: units, question analysis, scoring, selection, rendering."""
