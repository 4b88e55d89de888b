"""The live pledge board for the screens in the conference room (issue 16):
/board/<campaign>/ and /<lang>/board/<campaign>/, fed by a cached document
that the page polls with its ETag."""
