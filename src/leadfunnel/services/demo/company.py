"""Brightline Analytics: the default simulated company, a B2B analytics-software vendor.

It sells four product lines worldwide through five regional sales teams and buys leads in
twelve channels. The numbers are chosen so the effects are strong enough to find in a few
thousand leads and realistic in direction: partner referrals and the sales hotline bring
the best leads, display ads and social ads the weakest; trade shows come in spring and
autumn; every channel is quiet in August and between Christmas and New Year.
"""

from __future__ import annotations

from leadfunnel.services.demo.model import (
    Channel,
    CompanyModel,
    Funnel,
    Gap,
    Product,
    Region,
    RepeatPurchase,
    RepPopulation,
    ResponseEffect,
    Segment,
    SizeBand,
    Step,
)

__all__ = ["BRIGHTLINE"]

# Volume by month, January first (normalised to mean 1 by the simulator).
_B2B = (1.0, 1.05, 1.1, 1.05, 1.05, 1.0, 0.9, 0.65, 1.05, 1.1, 1.1, 0.8)
_STEADY = (1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 0.95, 0.85, 1.0, 1.0, 1.0, 0.9)
_EVENTS = (0.3, 0.7, 1.9, 2.0, 1.6, 0.5, 0.2, 0.1, 1.8, 2.0, 1.5, 0.3)
_WEBINARS = (1.1, 1.2, 1.2, 1.1, 1.0, 0.8, 0.6, 0.5, 1.1, 1.3, 1.3, 0.8)
_Q4 = (0.8, 0.8, 0.9, 0.9, 1.0, 1.0, 0.95, 0.85, 1.0, 1.1, 1.3, 1.2)

_CHANNELS = (
    Channel("paid_search", 0.20, 0.0, 120.0, _B2B, "google", "cpc", "/lp/analytics",
            ("Brand keywords", "Competitor keywords", "Generic analytics keywords")),
    Channel("organic_search", 0.16, 0.15, 0.0, _STEADY, "google", "organic", "/blog",
            ("SEO blog", "SEO product pages")),
    Channel("social_ads", 0.10, -0.35, 90.0, _B2B, "linkedin", "paid_social", "/lp/demo",
            ("LinkedIn lead gen forms", "LinkedIn sponsored content", "Facebook prospecting")),
    Channel("content_download", 0.12, -0.25, 60.0, _B2B, "syndication", "content",
            "/resources/whitepaper",
            ("Whitepaper: data strategy", "Ebook: analytics ROI", "Benchmark report 2025")),
    Channel("webinar", 0.07, 0.25, 150.0, _WEBINARS, "webinar", "email", "/webinars",
            ("Monthly product webinar", "Industry expert series")),
    Channel("trade_show", 0.05, 0.3, 400.0, _EVENTS, None, None, "",
            ("Spring expo", "Autumn summit", "Regional roadshow"), weekend_factor=0.15),
    Channel("partner_referral", 0.04, 1.0, 250.0, _STEADY, "partner", "referral",
            "/partners/referral", ("Reseller program", "Technology partners"),
            phone_share=0.5),
    Channel("hotline", 0.04, 0.3, 25.0, _STEADY, None, None, "",
            ("Sales hotline", "Support line upsell"), phone_share=1.0, direct_to_sql=0.3,
            weekend_factor=0.1),
    Channel("online_chat", 0.06, 0.2, 30.0, _STEADY, "website", "chat", "/pricing",
            ("Website chat", "Pricing page chat"), phone_share=0.6, direct_to_sql=0.15),
    Channel("email_campaign", 0.06, -0.1, 15.0, _B2B, "newsletter", "email", "/lp/newsletter",
            ("Monthly newsletter", "Product launch emails", "Re-engagement series")),
    Channel("social_messaging", 0.04, -0.05, 35.0, _STEADY, "wechat", "social", "/lp/wechat",
            ("WeChat official account", "WhatsApp business"), phone_share=0.9,
            weekend_factor=0.6, region_mix=(0.05, 0.05, 0.85, 0.05)),
    Channel("display", 0.06, -0.9, 70.0, _Q4, "programmatic", "display", "/lp/analytics",
            ("Retargeting banners", "Programmatic prospecting")),
)  # fmt: skip

_REGIONS = (
    Region("North America", 0.42,
           (("United States", "1", "20"), ("Canada", "1", "30")), -6,
           ("North America East", "North America West")),
    Region("EMEA", 0.30,
           (("Germany", "49", "151"), ("United Kingdom", "44", "79"), ("France", "33", "6"),
            ("Netherlands", "31", "6")), 1, ("EMEA",)),
    Region("APAC", 0.20,
           (("China", "86", "139"), ("Japan", "81", "90"), ("India", "91", "98"),
            ("Australia", "61", "4")), 8, ("APAC",)),
    Region("LATAM", 0.08, (("Brazil", "55", "119"), ("Mexico", "52", "55")), -4, ("LATAM",)),
)  # fmt: skip

_LEAD_DROPS = (
    ("nurture", "not ready to talk", 0.45),
    ("nurture", "no response", 0.25),
    ("disqualified", "not a fit", 0.2),
    ("disqualified", "competitor", 0.04),
    ("disqualified", "spam", 0.06),
)
_MQL_DROPS = (
    ("nurture", "not ready to talk", 0.45),
    ("nurture", "no response", 0.25),
    ("disqualified", "not a fit", 0.2),
    ("disqualified", "no budget", 0.1),
)
_SQL_DROPS = (
    ("disqualified", "no budget", 0.35),
    ("disqualified", "no authority", 0.2),
    ("disqualified", "not a fit", 0.15),
    ("nurture", "timing", 0.3),
)
_LOST_REASONS = (
    ("lost", "price", 0.28),
    ("lost", "competitor", 0.24),
    ("lost", "no budget", 0.18),
    ("lost", "timing", 0.16),
    ("lost", "no decision", 0.14),
)

BRIGHTLINE = CompanyModel(
    name="Brightline Analytics",
    domain="brightline.example",
    history_days=730,
    yearly_growth=0.3,
    channels=_CHANNELS,
    regions=_REGIONS,
    industries=(
        Segment("software", 0.18, 0.2),
        Segment("financial services", 0.12, 0.1),
        Segment("manufacturing", 0.18, 0.0),
        Segment("healthcare", 0.12, -0.05),
        Segment("retail", 0.12, -0.15),
        Segment("logistics", 0.10, 0.0),
        Segment("education", 0.08, -0.3),
        Segment("energy", 0.10, 0.05),
    ),
    sizes=(
        SizeBand("1-49", 1, -0.35, 6_000.0, 0.6),
        SizeBand("50-249", 50, 0.1, 15_000.0, 0.85),
        SizeBand("250-999", 250, 0.2, 40_000.0, 1.0),
        SizeBand("1000-4999", 1000, 0.15, 90_000.0, 1.4),
        SizeBand("5000+", 5000, -0.05, 220_000.0, 1.9),
    ),
    seniorities=(
        Segment("C-level", 0.06, 0.35),
        Segment("VP", 0.10, 0.35),
        Segment("Director", 0.18, 0.25),
        Segment("Manager", 0.30, 0.0),
        Segment("Individual contributor", 0.30, -0.3),
        Segment("Student", 0.06, -2.5),
    ),
    products=(
        Product("Analytics Suite", 0.38, 0.0, 1.0),
        Product("Data Platform", 0.22, -0.1, 1.8),
        Product("Integration Hub", 0.22, 0.1, 0.6),
        Product("Support Desk", 0.18, 0.15, 0.45),
    ),
    noise_sd=0.8,
    funnel=Funnel(
        to_mql=Step(-0.9, 1.0, 0.0, Gap(4, 0.9), Gap(21, 0.7), _LEAD_DROPS, 0.12),
        to_sql=Step(0.3, 0.7, 1.0, Gap(6, 0.8), Gap(30, 0.6), _MQL_DROPS, 0.08),
        to_opportunity=Step(0.1, 0.5, 0.6, Gap(10, 0.7), Gap(20, 0.6), _SQL_DROPS, 0.04),
        to_won=Step(-1.3, 0.5, 0.6, Gap(35, 0.6), Gap(35, 0.6), _LOST_REASONS, 0.0),
        direct_to_sql_intercept=-0.3,
        deal_sigma=0.5,
        repeat=RepeatPurchase(0.3, Gap(200, 0.5), 0.65, 0.5),
        pool_below_employees=20,
    ),
    response=ResponseEffect(reference_minutes=5.0, beta=0.3),
    reps=RepPopulation(
        reps_per_team=(4, 8),
        skill_sd=0.3,
        skill_range=(0.5, 2.0),
        median_response_minutes=(2.0, 1440.0),
        response_sigma=1.2,
    ),
    follow_up_touches=1.6,
    touch_z_weight=0.5,
)
