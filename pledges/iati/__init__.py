"""The Fund's incoming money as an IATI 2.03 activity file (issue 16), at
/api/v1/public/iati/activities.xml."""
