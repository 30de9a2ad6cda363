from django.contrib import admin

from kratomwatch.records.models import Lot, Product


@admin.register(Product)
class ProductAdmin(admin.ModelAdmin[Product]):
    list_display = ("vendor", "name", "form", "program")
    list_filter = ("form", "program")


@admin.register(Lot)
class LotAdmin(admin.ModelAdmin[Lot]):
    list_display = (
        "product",
        "lot_code",
        "cert_content_unit",
        "cert_mitragynine",
        "cert_seven_oh",
        "recalled",
    )
    readonly_fields = tuple(f.name for f in Lot._meta.fields)  # certificate changes go through actions (recompute)
