"""Entity type names used across detectors, policy and reports (one vocabulary)."""

from __future__ import annotations

EMAIL = "EMAIL_ADDRESS"
UPN = "UPN"  # e-mail-shaped account name; told apart from EMAIL by field role
SIP_URI = "SIP_URI"
GUID = "GUID"
IPV4 = "IPV4"
IPV6 = "IPV6"
MAC = "MAC_ADDRESS"
HOSTNAME = "HOSTNAME"
MUID = "MUID"
CREDIT_CARD = "CREDIT_CARD"
IBAN = "IBAN_CODE"
PHONE = "PHONE_NUMBER"
US_SSN = "US_SSN"
US_DRIVER_LICENSE = "US_DRIVER_LICENSE"
# national identifiers beyond the US SSN (names as Presidio's recognizers use them)
UK_NINO = "UK_NINO"
CA_SIN = "CA_SIN"
FR_NIR = "FR_NIR"
ES_NIF = "ES_NIF"  # DNI number with its check letter
ES_NIE = "ES_NIE"
IT_FISCAL_CODE = "IT_FISCAL_CODE"
IN_AADHAAR = "IN_AADHAAR"
DE_TAX_ID = "DE_TAX_ID"
PERSON = "PERSON"
STREET_ADDRESS = "STREET_ADDRESS"
USERNAME = "USERNAME"
DOMAIN_USER = "DOMAIN_USER"
URL_SECRET = "URL_SECRET"
SECRET = "SECRET"  # passwords and tokens in key=value pairs, JWT / bearer tokens
AWS_ACCESS_KEY = "AWS_ACCESS_KEY"
AWS_ARN = "AWS_ARN"
WINDOWS_SID = "WINDOWS_SID"
HEX_ID = "HEX_ID"  # client-side hashes and opaque hex identifiers
SESSION_ID = "SESSION_ID"  # session / tracking cookie values
USER_ID = "USER_ID"  # a user's identifier inside a resource path or URL (users/<id>)
COMPUTER_NAME = "COMPUTER_NAME"  # a user's workstation (DESKTOP-1DUTFWV): EUII wherever it is
# identifiers a word introduces in free text (schemas/labels.yaml): "passport no. K7741902"
NATIONAL_ID = "NATIONAL_ID"  # passport, identity card, tax id, driving licence (any country)
ACCOUNT_NUMBER = "ACCOUNT_NUMBER"  # bank / customer account numbers
PERSONAL_ID = "PERSONAL_ID"  # patient, employee, member, policy, insurance, customer numbers

ALL = [
    EMAIL, UPN, SIP_URI, GUID, IPV4, IPV6, MAC, HOSTNAME, MUID, CREDIT_CARD, IBAN, PHONE,
    US_SSN, PERSON, STREET_ADDRESS, USERNAME, DOMAIN_USER, URL_SECRET, SECRET, AWS_ACCESS_KEY,
    AWS_ARN, WINDOWS_SID, HEX_ID, SESSION_ID, US_DRIVER_LICENSE, UK_NINO, CA_SIN, FR_NIR, ES_NIF,
    ES_NIE, IT_FISCAL_CODE, IN_AADHAAR, DE_TAX_ID, USER_ID, COMPUTER_NAME, NATIONAL_ID,
    ACCOUNT_NUMBER, PERSONAL_ID,
]
#: identifiers that embed a person's identifier in something that is not personal
#: (``CONTOSO\\jdoe``, an ARN naming a role session): only that part is scrubbed
#: (classifiers/detectors/base.py ``CompoundDetector``; policy action ``scrub_text``)
COMPOUND = frozenset({DOMAIN_USER, AWS_ARN})
#: national identifiers and other government-issued personal numbers (EUII, redacted)
NATIONAL_IDS = [US_SSN, US_DRIVER_LICENSE, UK_NINO, CA_SIN, FR_NIR, ES_NIF, ES_NIE,
                IT_FISCAL_CODE, IN_AADHAAR, DE_TAX_ID, NATIONAL_ID]
