"""Citations behind the published thresholds of the alert rules, with the date each was checked.

Each constant is a tuple of citations in the knowledge format (``PMID:``, ``PMC``, ``doi:`` or a URL).
``EVIDENCE_AS_OF`` is the date they were read or confirmed (see docs/alerts.md for what was confirmed
where, and what was not).
"""

from __future__ import annotations

import datetime as dt

EVIDENCE_AS_OF = dt.date(2026, 11, 21)
CHECKED_2026_12_01 = dt.date(2026, 12, 1)
"""Sources first cited, or re-read, on 2026-12-01 (the naloxone rule, the new combinations, the 7-OH cap)."""

# Wesson DR, Ling W. The Clinical Opiate Withdrawal Scale (COWS). J Psychoactive Drugs 2003;35(2):253-259.
# Bands: 5-12 mild, 13-24 moderate, 25-36 moderately severe, >36 severe.
COWS = ("doi:10.1080/02791072.2003.10400007", "https://www.ncbi.nlm.nih.gov/books/NBK64244/table/A72915/")

# Handelsman L et al. Two new rating scales for opiate withdrawal. Am J Drug Alcohol Abuse 1987 (the scale;
# no published rise threshold exists, so the rise is a program setting).
SOWS = ("PMID:3687892",)

# Kroenke K, Spitzer RL, Williams JB. The PHQ-9. J Gen Intern Med 2001;16:606-613 (bands 5/10/15/20).
PHQ9 = ("PMID:11556941", "doi:10.1046/j.1525-1497.2001.016009606.x")

# Simon GE et al. Does response on the PHQ-9 predict subsequent suicide attempt or suicide death?
# Psychiatr Serv 2013 (item 9 answers and later attempts/deaths).
PHQ9_ITEM9 = ("PMID:11556941", "doi:10.1176/appi.ps.201200587")

# Spitzer RL et al. A brief measure for assessing generalized anxiety disorder: the GAD-7.
# Arch Intern Med 2006;166:1092-1097 (bands 5/10/15; 15-21 severe).
GAD7 = ("PMID:16717171", "doi:10.1001/archinte.166.10.1092")

# DSM-5 substance use disorder criteria and severity (2-3 mild, 4-5 moderate, >=6 severe), read in the
# peer-reviewed reproduction PMC7993020 (table T14-0005).
DSM5_SUD = ("PMC7993020", "https://pmc.ncbi.nlm.nih.gov/articles/PMC7993020/table/T14-0005")

# Dworkin RH et al. IMMPACT recommendations. J Pain 2008;9(2):105-121: >=30% pain reduction is
# moderately important.
IMMPACT = ("PMID:18055266", "doi:10.1016/j.jpain.2007.09.005")

# ICH E2A: serious = death, life-threatening, hospitalisation (initial or prolonged), persistent or
# significant disability/incapacity, congenital anomaly/birth defect, or other medically important event.
ICH_E2A = ("https://database.ich.org/sites/default/files/E2A_Guideline.pdf",)

# NCI Common Terminology Criteria for Adverse Events v5.0: grade 3 severe, 4 life-threatening, 5 death.
CTCAE_V5 = ("https://ctep.cancer.gov/protocoldevelopment/electronic_applications/ctc.htm",)

# FDA Guidance for Industry. Drug-Induced Liver Injury: Premarketing Clinical Evaluation (July 2009):
# Hy's law = aminotransferase > 3x ULN with total bilirubin > 2x ULN (no other explanation).
FDA_DILI_2009 = (
    "https://www.fda.gov/media/116737/download",
    "https://www.fda.gov/regulatory-information/search-fda-guidance-documents/drug-induced-liver-injury-premarketing-clinical-evaluation",
)

# ALT/AST > 5.0-20.0 x ULN is CTCAE v5 grade 3 ("Alanine aminotransferase increased").
ALT_GRADE3 = CTCAE_V5

# QTc > 500 ms or a rise > 60 ms "generally considered to confer a high risk of TdP": Medsafe (NZ regulator)
# Prescriber Update 31(4), Dec 2010; CTCAE v5 "QT corrected interval prolonged" grade 3 is QTc >= 501 ms or
# > 60 ms change from baseline.
QTC = ("http://www.medsafe.govt.nz/profs/PUArticles/DrugInducedQTProlongation.htm", *CTCAE_V5)
# Martin G, Collins DP, Valenzuela H. Life-threatening hyponatremia secondary to chronic kratom use: a case
# presentation. Cureus 2022;14(9):e29073. The abstract defines hyponatremia as serum sodium < 135 mEq/L and severe
# hyponatremia as < 125 mEq/L, "a life-threatening complication that must be managed promptly". One case report:
# a signal, not an incidence (confirmed 2026-12-01).
HYPONATRAEMIA = ("PMID:36249618", "doi:10.7759/cureus.29073")

# Neonatal abstinence after maternal kratom use: Eldridge et al. Pediatrics 2018 (PMID 30404789);
# Murthy & Clarke, Paediatr Child Health 2019 (PMID 30792593).
PREGNANCY = ("PMID:30404789", "PMID:30792593")
BREASTFEEDING = ("PMID:30404789",)

# Kratom Consumer Protection Act cap: 7-OH may not exceed 2% of the alkaloid composition. In force on 2026-12-01 in
# Kentucky (KRS 217.2202, 2024 HB 293), South Dakota (SDCL 34-20B-115.1) and Texas (Health & Safety Code 444.003);
# Oklahoma's 2% (63 O.S. 1-1432.4, 2021) was lowered to 1% in 2024 (knowledge/data/jurisdictions.yaml).
SEVEN_OH_CAP = (
    "https://apps.legislature.ky.gov/record/24RS/hb293.html",
    "https://lexace.ai/us/statute/south-dakota/34-20B-115.1",
)

# Extract potency varies widely (mitragynine 13.9-270 mg/g across US products).
UNKNOWN_POTENCY = ("PMC9343938",)

# Commercial products with 7-OH far above raw-leaf levels (suspected enrichment).
ENHANCED_PRODUCT = ("doi:10.1007/s13181-016-0588-y",)

# FDA Drug Safety Communication, 31 Aug 2016: boxed warnings on combined opioid and benzodiazepine use.
OPIOID_BENZODIAZEPINE = (
    "https://professionals.optumrx.com/publications/library/drugsafety-opioids-benzodiazepines-2016-0831.html",
)

# FDA Drug Safety Communication, 19 Dec 2019: serious breathing difficulties with gabapentin and pregabalin in
# patients with respiratory risk factors, including co-use of opioids and other CNS depressants.
OPIOID_GABAPENTINOID = (
    "https://fda.gov/drugs/fda-drug-safety-podcasts/fda-warns-about-serious-breathing-problems-seizure-and-nerve-pain-medicines-gabapentin-neurontin",
)

# FDA Drug Safety Communication, 31 Aug 2016: opioids with benzodiazepines or other CNS depressants, alcohol
# included (the knowledge's alcohol class cites the same communication).
OPIOID_CNS_DEPRESSANTS = OPIOID_BENZODIAZEPINE

# Naloxone access when opioids, 7-OH or benzodiazepines are co-used: California Department of Public Health
# release of 24 Oct 2025 on kratom and 7-OH (advises carrying naloxone, 7-OH overdoses included); CDC Clinical
# Practice Guideline for Prescribing Opioids for Pain 2022 (Dowell et al., MMWR Recomm Rep 71(3), PMID 36327391):
# offer naloxone when overdose risk is increased, including concurrent benzodiazepine use.
NALOXONE_ACCESS = (
    "https://pubt.io/view/9FDE66029C772D0C1D8E33D4293242846C23FB4F",
    "PMID:36327391",
    "https://www.cdc.gov/mmwr/volumes/71/rr/rr7103a1.htm",
)
