"""Words the simulator builds people, companies and titles from (ASCII, so emails stay plain).

Company names are unique by construction: company ``k`` is named from ``COMPANY_WORDS_A[k
% 60]``, ``COMPANY_WORDS_B[k // 60 % 60]`` and, from ``k = 3600`` on, ``COMPANY_WORDS_C[k //
3600 - 1]``, then its industry's word and a legal suffix: ``"Silver Harbor Logistics GmbH"``.
"""

from __future__ import annotations

__all__ = [
    "COMPANY_WORDS_A",
    "COMPANY_WORDS_B",
    "COMPANY_WORDS_C",
    "FIRST_NAMES",
    "FUNCTIONS",
    "INDUSTRY_WORDS",
    "LAST_NAMES",
    "LEGAL_SUFFIXES",
    "MAX_COMPANIES",
    "TITLE_PATTERNS",
]

COMPANY_WORDS_A = (
    "Silver", "Blue", "Red", "Green", "Golden", "North", "South", "East", "West", "Bright",
    "Clear", "Swift", "Prime", "Noble", "Royal", "Grand", "Iron", "Stone", "Oak", "Pine",
    "Maple", "Cedar", "River", "Lake", "Ocean", "Summit", "Valley", "Harbor", "Bridge", "Crown",
    "Falcon", "Eagle", "Wolf", "Bear", "Fox", "Lion", "Star", "Sun", "Moon", "Sky",
    "Cloud", "Rain", "Storm", "Frost", "Fire", "Amber", "Ivory", "Onyx", "Jade", "Coral",
    "Atlas", "Apex", "Vertex", "Nova", "Orbit", "Pioneer", "Sterling", "Unity", "Vista", "Zenith",
)  # fmt: skip
COMPANY_WORDS_B = (
    "Harbor", "Ridge", "Field", "Works", "Point", "Gate", "Path", "Line", "Port", "Peak",
    "Wood", "Brook", "Hill", "Forge", "Mill", "Yard", "Tower", "Square", "Bay", "Crest",
    "Dale", "Glen", "Haven", "Hollow", "Island", "Key", "Land", "Marsh", "Meadow", "Mount",
    "Park", "Reach", "Rock", "Shore", "Spring", "Stream", "Trail", "View", "Way", "Well",
    "Arc", "Axis", "Beacon", "Circle", "Core", "Edge", "Flow", "Grid", "Hub", "Link",
    "Loop", "Matrix", "Nexus", "Pulse", "Scope", "Signal", "Source", "Span", "Sphere", "Wave",
)  # fmt: skip
COMPANY_WORDS_C = (
    "Alpha", "Beta", "Gamma", "Delta", "Sigma", "Omega", "Kappa", "Lambda", "Theta", "Zeta",
    "Aurora", "Borealis", "Cascade", "Horizon", "Meridian", "Solstice", "Equinox", "Tundra",
    "Sierra", "Mesa",
)  # fmt: skip
MAX_COMPANIES = len(COMPANY_WORDS_A) * len(COMPANY_WORDS_B) * (len(COMPANY_WORDS_C) + 1)

#: industry -> the word its companies' names end in
INDUSTRY_WORDS = {
    "software": "Software",
    "financial services": "Capital",
    "manufacturing": "Manufacturing",
    "healthcare": "Health",
    "retail": "Retail",
    "logistics": "Logistics",
    "education": "Learning",
    "energy": "Energy",
}

#: country -> legal-form suffix (all of them removed by the company key)
LEGAL_SUFFIXES = {
    "United States": " Inc.",
    "Canada": " Ltd.",
    "Germany": " GmbH",
    "United Kingdom": " Ltd",
    "France": " SAS",
    "Netherlands": " BV",
    "China": " Co., Ltd.",
    "Japan": " KK",
    "India": " Ltd",
    "Australia": " Pty Ltd",
    "Brazil": " Ltda.",
    "Mexico": " SA",
}

#: region -> first names and last names of the people who fill in its forms
FIRST_NAMES = {
    "North America": ("James", "Mary", "Robert", "Patricia", "John", "Jennifer", "Michael", "Linda", "David", "Emily", "Chris", "Sarah", "Daniel", "Karen", "Kevin", "Laura"),
    "EMEA": ("Lukas", "Anna", "Thomas", "Sophie", "Oliver", "Emma", "Pierre", "Claire", "Jan", "Lotte", "Marco", "Giulia", "Erik", "Ingrid", "Ahmed", "Fatima"),
    "APAC": ("Wei", "Li", "Hiroshi", "Yuki", "Arjun", "Priya", "Jun", "Mei", "Kenji", "Aiko", "Rahul", "Ananya", "Jack", "Olivia", "Min", "Hana"),
    "LATAM": ("Joao", "Maria", "Pedro", "Ana", "Lucas", "Julia", "Carlos", "Camila", "Diego", "Valentina", "Rafael", "Beatriz", "Jose", "Fernanda", "Luis", "Gabriela"),
}  # fmt: skip
LAST_NAMES = {
    "North America": ("Smith", "Johnson", "Williams", "Brown", "Jones", "Miller", "Davis", "Wilson", "Anderson", "Taylor", "Thomas", "Moore", "Martin", "Lee", "Clark", "Lewis"),
    "EMEA": ("Mueller", "Schmidt", "Schneider", "Fischer", "Dubois", "Martin", "Bernard", "Jansen", "Visser", "Rossi", "Russo", "Larsen", "Nielsen", "Evans", "Hughes", "Khan"),
    "APAC": ("Wang", "Zhang", "Liu", "Chen", "Sato", "Suzuki", "Takahashi", "Sharma", "Patel", "Gupta", "Kim", "Park", "Nguyen", "Tan", "Wong", "Singh"),
    "LATAM": ("Silva", "Santos", "Oliveira", "Souza", "Pereira", "Costa", "Garcia", "Rodriguez", "Martinez", "Lopez", "Gonzalez", "Hernandez", "Perez", "Ramirez", "Torres", "Flores"),
}  # fmt: skip

FUNCTIONS = (
    "Operations",
    "IT",
    "Finance",
    "Marketing",
    "Sales",
    "Data",
    "Supply Chain",
    "Engineering",
)

#: seniority -> title patterns; ``{f}`` is the function
TITLE_PATTERNS = {
    "C-level": ("CEO", "CFO", "CIO", "COO", "CTO", "Chief Data Officer"),
    "VP": ("VP {f}", "SVP {f}"),
    "Director": ("Director of {f}", "Head of {f}"),
    "Manager": ("{f} Manager", "Senior {f} Manager"),
    "Individual contributor": ("{f} Analyst", "{f} Specialist", "{f} Engineer"),
    "Student": ("Student", "PhD Student"),
}
