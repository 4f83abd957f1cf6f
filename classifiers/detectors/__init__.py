"""Registry of value detectors: one class per identifier, looked up instead of if-chains.

``ALL_DETECTORS`` lists every class; ``DETECTORS_BY_ENTITY`` groups them by the entity
they emit (``SECRET`` has two: JWT/bearer tokens and key/value secrets);
:func:`build_detectors` instantiates them, optionally only for some entities.
"""

from __future__ import annotations

from collections.abc import Iterable

from telescrub.classifiers.detectors.aws_access_key import AwsAccessKeyDetector
from telescrub.classifiers.detectors.aws_arn import AwsArnDetector
from telescrub.classifiers.detectors.base import Detector
from telescrub.classifiers.detectors.ca_sin import CaSinDetector
from telescrub.classifiers.detectors.cloud_user_id import CloudUserIdDetector
from telescrub.classifiers.detectors.computer_name import ComputerNameDetector
from telescrub.classifiers.detectors.credit_card import CreditCardDetector
from telescrub.classifiers.detectors.de_tax_id import DeTaxIdDetector
from telescrub.classifiers.detectors.domain_user import DomainUserDetector
from telescrub.classifiers.detectors.email import EmailDetector
from telescrub.classifiers.detectors.es_dni import EsDniDetector
from telescrub.classifiers.detectors.es_nie import EsNieDetector
from telescrub.classifiers.detectors.fr_nir import FrNirDetector
from telescrub.classifiers.detectors.guid import GuidDetector
from telescrub.classifiers.detectors.hex_id import HexIdDetector
from telescrub.classifiers.detectors.hostname import HostnameDetector
from telescrub.classifiers.detectors.iban import IbanDetector
from telescrub.classifiers.detectors.in_aadhaar import InAadhaarDetector
from telescrub.classifiers.detectors.ipv4 import Ipv4Detector
from telescrub.classifiers.detectors.ipv6 import Ipv6Detector
from telescrub.classifiers.detectors.it_fiscal_code import ItFiscalCodeDetector
from telescrub.classifiers.detectors.jwt import JwtDetector
from telescrub.classifiers.detectors.labelled_id import (
    AccountNumberLabelDetector,
    LoginLabelDetector,
    NationalIdLabelDetector,
    PersonalIdLabelDetector,
    SecretLabelDetector,
)
from telescrub.classifiers.detectors.mac import MacDetector
from telescrub.classifiers.detectors.muid import MuidDetector
from telescrub.classifiers.detectors.password_kv import PasswordKvDetector
from telescrub.classifiers.detectors.person_name import PersonNameDetector
from telescrub.classifiers.detectors.phone import PhoneDetector
from telescrub.classifiers.detectors.resource_path_user import ResourcePathUserDetector
from telescrub.classifiers.detectors.session_cookie import SessionCookieDetector
from telescrub.classifiers.detectors.sip_uri import SipUriDetector
from telescrub.classifiers.detectors.street_address import StreetAddressDetector
from telescrub.classifiers.detectors.uk_nino import UkNinoDetector
from telescrub.classifiers.detectors.url_host import UrlHostDetector
from telescrub.classifiers.detectors.url_secret import UrlSecretDetector
from telescrub.classifiers.detectors.us_driver_license import UsDriverLicenseDetector
from telescrub.classifiers.detectors.us_ssn import UsSsnDetector
from telescrub.classifiers.detectors.username_phrase import UsernamePhraseDetector
from telescrub.classifiers.detectors.windows_sid import WindowsSidDetector
from telescrub.core import entities as entity_names

ALL_DETECTORS: tuple[type[Detector], ...] = (
    EmailDetector,
    SipUriDetector,
    GuidDetector,
    Ipv4Detector,
    Ipv6Detector,
    MacDetector,
    HostnameDetector,
    UrlHostDetector,
    MuidDetector,
    CreditCardDetector,
    IbanDetector,
    PhoneDetector,
    UsSsnDetector,
    UsDriverLicenseDetector,
    UkNinoDetector,
    CaSinDetector,
    FrNirDetector,
    EsDniDetector,
    EsNieDetector,
    ItFiscalCodeDetector,
    InAadhaarDetector,
    DeTaxIdDetector,
    AwsAccessKeyDetector,
    AwsArnDetector,
    WindowsSidDetector,
    JwtDetector,
    PasswordKvDetector,
    SecretLabelDetector,
    UrlSecretDetector,
    DomainUserDetector,
    ResourcePathUserDetector,
    CloudUserIdDetector,
    NationalIdLabelDetector,
    AccountNumberLabelDetector,
    PersonalIdLabelDetector,
    UsernamePhraseDetector,
    LoginLabelDetector,
    HexIdDetector,
    ComputerNameDetector,
    SessionCookieDetector,
    PersonNameDetector,
    StreetAddressDetector,
)

DETECTORS_BY_ENTITY: dict[str, tuple[type[Detector], ...]] = {}
for _cls in ALL_DETECTORS:
    DETECTORS_BY_ENTITY[_cls.ENTITY] = (*DETECTORS_BY_ENTITY.get(_cls.ENTITY, ()), _cls)
del _cls


def build_detectors(entities: Iterable[str] | None = None) -> list[Detector]:
    """One instance of every detector, or only of those emitting one of ``entities``.

    Names outside :mod:`telescrub.core.entities` raise ``KeyError`` naming
    them, so that a typo never silently switches detection off.
    """
    if entities is None:
        return [cls() for cls in ALL_DETECTORS]
    wanted = set(entities)
    unknown = sorted(wanted - set(entity_names.ALL))
    if unknown:
        raise KeyError(f"unknown entities {unknown}; known: {sorted(entity_names.ALL)}")
    return [cls() for cls in ALL_DETECTORS if cls.ENTITY in wanted]


__all__ = ["ALL_DETECTORS", "DETECTORS_BY_ENTITY", "Detector", "build_detectors"]
