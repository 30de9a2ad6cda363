"""The program settings model moves to accounts (accounts.ProgramSettings); its table stays where it is."""

from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [("alerts", "0001_initial")]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[migrations.DeleteModel(name="ProgramRuleConfig")],
            database_operations=[],
        )
    ]
