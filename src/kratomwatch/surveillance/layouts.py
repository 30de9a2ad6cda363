"""The published column layouts of the FAERS quarterly ASCII files, one definition for the reader (``ingest.py``:
columns outside these lists are reported as unknown) and the generator (``faers_synth.py``).

Current FAERS (2012Q4 on): ../shared/reference/pharmacovigilance.md §1.2, from the tystan/fuzzyfaers table
definitions and the NBER ``desc.txt`` dictionaries that quote the FDA's ASC_NTS. Files gain columns over the years;
a column missing from a file is not an error unless the reader needs it.
"""

from __future__ import annotations

__all__ = ["FAERS_COLUMNS", "LAERS_COLUMNS", "known_columns"]

FAERS_COLUMNS: dict[str, tuple[str, ...]] = {
    "DEMO": (
        "primaryid", "caseid", "caseversion", "i_f_code", "event_dt", "mfr_dt", "init_fda_dt", "fda_dt", "rept_cod",
        "auth_num", "mfr_num", "mfr_sndr", "lit_ref", "age", "age_cod", "age_grp", "sex", "e_sub", "wt", "wt_cod",
        "rept_dt", "to_mfr", "occp_cod", "reporter_country", "occr_country",
    ),
    "DRUG": (
        "primaryid", "caseid", "drug_seq", "role_cod", "drugname", "prod_ai", "val_vbm", "route", "dose_vbm",
        "cum_dose_chr", "cum_dose_unit", "dechal", "rechal", "lot_num", "exp_dt", "nda_num", "dose_amt", "dose_unit",
        "dose_form", "dose_freq",
    ),
    "REAC": ("primaryid", "caseid", "pt", "drug_rec_act"),
    "OUTC": ("primaryid", "caseid", "outc_cod"),
    "RPSR": ("primaryid", "caseid", "rpsr_cod"),
    "THER": ("primaryid", "caseid", "dsg_drug_seq", "start_dt", "end_dt", "dur", "dur_cod"),
    "INDI": ("primaryid", "caseid", "indi_drug_seq", "indi_pt"),
}  # fmt: skip
# Legacy AERS (2004Q1-2012Q3): ISR-based, upper-case headers; our name -> the LAERS column. Source: a public AERS
# loader's table definitions (Data2Semantics/raw2ld, sql/create_database.sql: demo, drug, reac, outc), and the
# reference notes' "ISR-based (isr, case, i_f_cod, foll_seq)"; RPSR, THER and INDI by analogy with FAERS
# (not confirmed).
LAERS_COLUMNS: dict[str, tuple[tuple[str, str], ...]] = {
    "DEMO": (
        ("primaryid", "ISR"), ("caseid", "CASE"), ("i_f_code", "I_F_COD"), ("foll_seq", "FOLL_SEQ"), ("image", "IMAGE"),
        ("event_dt", "EVENT_DT"), ("mfr_dt", "MFR_DT"), ("fda_dt", "FDA_DT"), ("rept_cod", "REPT_COD"),
        ("mfr_num", "MFR_NUM"), ("mfr_sndr", "MFR_SNDR"), ("age", "AGE"), ("age_cod", "AGE_COD"),
        ("sex", "GNDR_COD"), ("e_sub", "E_SUB"), ("wt", "WT"), ("wt_cod", "WT_COD"), ("rept_dt", "REPT_DT"),
        ("occp_cod", "OCCP_COD"), ("death_dt", "DEATH_DT"), ("to_mfr", "TO_MFR"), ("confid", "CONFID"),
        ("reporter_country", "REPORTER_COUNTRY"),
    ),
    "DRUG": (
        ("primaryid", "ISR"), ("drug_seq", "DRUG_SEQ"), ("role_cod", "ROLE_COD"), ("drugname", "DRUGNAME"),
        ("val_vbm", "VAL_VBM"), ("route", "ROUTE"), ("dose_vbm", "DOSE_VBM"), ("dechal", "DECHAL"),
        ("rechal", "RECHAL"), ("lot_num", "LOT_NUM"), ("exp_dt", "EXP_DT"), ("nda_num", "NDA_NUM"),
    ),
    "REAC": (("primaryid", "ISR"), ("pt", "PT")),
    "OUTC": (("primaryid", "ISR"), ("outc_cod", "OUTC_COD")),
    "RPSR": (("primaryid", "ISR"), ("rpsr_cod", "RPSR_COD")),
    "THER": (
        ("primaryid", "ISR"), ("dsg_drug_seq", "DRUG_SEQ"), ("start_dt", "START_DT"), ("end_dt", "END_DT"),
        ("dur", "DUR"), ("dur_cod", "DUR_COD"),
    ),
    "INDI": (("primaryid", "ISR"), ("indi_drug_seq", "DRUG_SEQ"), ("indi_pt", "INDI_PT")),
}  # fmt: skip


def known_columns(kind: str) -> frozenset[str]:
    """Every column name (lower case) a ``kind`` file (DEMO, DRUG, ...) has in either layout."""
    return frozenset(FAERS_COLUMNS.get(kind, ())) | frozenset(c.lower() for _, c in LAERS_COLUMNS.get(kind, ()))
